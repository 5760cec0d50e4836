// Package translator syncs the SCTP LoadBalancer Services and networking.x-k8s.io/v1alpha1
// Gateways that AKO would handle to the Avi Controller, as spec/avi-translation.md
// describes: it builds the desired Avi objects of each unit (a virtual service with its
// VsVip, L4 policy set and pools) from Services, Gateways, EndpointSlices and Nodes; plans
// them against the controller's current objects into creates, updates and deletes; applies
// the plan in dependency order through package avi; and writes the outcome back as Service
// and Gateway status and Events (avi-translation.md in this directory specifies all of it).
// It is external-dns's loop (read current, compute desired,
// apply the difference only), and it never touches an Avi object it does not own.
//
// Every object is re-checked with the policy engine first: an object the rule catalogue
// denies is frozen (reported, never synced), so the translator cannot be tricked into the
// combinations the admission webhook exists to stop.
package translator
