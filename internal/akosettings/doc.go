// Package akosettings follows AKO's settings for a running replica: AKO's avi-k8s-config
// ConfigMap, read key by key as AKO reads it, on the manager's cache. The webhook judges with
// them and the translator syncs with them; cmd hands one follower to both.
package akosettings
