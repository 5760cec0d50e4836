// Package avi is sctpguard's client for the VMware Avi Controller REST API: session login with
// CSRF, the X-Avi-Version and tenant headers, bounded responses, the retry rules of the
// public SDKs (one re-login on 401/419, three attempts on transport errors and 502-504), typed
// errors with their retry class, name references, paging, and the models of the objects the
// translator writes. It is written against spec/avi-rest.md because the vendor SDK
// (github.com/vmware/alb-sdk) cannot be fetched here; it implements only what sctpguard needs.
// avi-rest.md in this directory is that specification.
package avi
