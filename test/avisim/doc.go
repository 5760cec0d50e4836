// Package avisim is a test double: a faithful fake of the VMware Avi (NSX Advanced Load
// Balancer) Controller REST API, served in-process over TLS, against which sctpguard's Avi
// client and translator are tested. It is not a mock that echoes what a test wants: it enforces
// the controller's behaviour as written in translator/avi/avi-rest.md (§10 is its checklist) —
// session login with the exact cookies, CSRF, idle expiry, Basic auth behind a knob,
// X-Avi-Version and licence gating of every SCTP item, tenants and their visibility, uuids,
// url and _last_modified, the server defaults and validation of §9 (unknown fields accepted
// and dropped, as the controller's recorded traffic shows; fields newer than X-Avi-Version
// refused and left out of answers, by the published schema in test/avisim/schema),
// references in every accepted format stored canonically and rendered with #name, VIP
// allocation, name uniqueness with the controller's 409 texts, 412 on a stale
// _last_modified, referred-by protection on DELETE, lists with filters and paging, and the
// system objects of §8. Knobs inject faults (failures, dropped connections, 419, expired
// sessions, delays, upgrade mode, an unhealthy cluster) and a journal records every request.
//
// Behaviour the spec marks **(inferred)** — not observed on a real controller — is marked
// "inferred" in comments here too, so that it is easy to find and change.
package avisim
