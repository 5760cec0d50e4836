{{/*
The CEL match conditions of the webhooks. They are webhook.Configurations()'s, to the
character: a Go test renders the chart and compares, so the two cannot drift. Only objects
that can matter reach the webhooks, so an outage blocks nothing else.
*/}}

{{/* Services: SCTP ports, AKO's gateway labels, the shared-VIP annotation, or the sctpguard.io/sctp label that must go when the last SCTP port goes. */}}
{{- define "sctpguard.cel.services" -}}
object != null && (
  (has(object.spec) && has(object.spec.ports) && object.spec.ports.exists(p, has(p.protocol) && p.protocol == 'SCTP')) ||
  (has(object.metadata.labels) && ('ako.vmware.com/gateway-name' in object.metadata.labels ||
    'ako.vmware.com/gateway-namespace' in object.metadata.labels || 'sctpguard.io/sctp' in object.metadata.labels)) ||
  (has(object.metadata.annotations) && 'ako.vmware.com/enable-shared-vip' in object.metadata.annotations))
{{- end }}

{{/* NetworkPolicies: SCTP ports in ingress or egress rules. */}}
{{- define "sctpguard.cel.networkpolicies" -}}
object != null && has(object.spec) && (
  (has(object.spec.ingress) && object.spec.ingress.exists(r, has(r.ports) && r.ports.exists(p, has(p.protocol) && p.protocol == 'SCTP'))) ||
  (has(object.spec.egress) && object.spec.egress.exists(r, has(r.ports) && r.ports.exists(p, has(p.protocol) && p.protocol == 'SCTP'))))
{{- end }}

{{/* gateway.networking.k8s.io Gateways and ListenerSets: a listener neither HTTP nor HTTPS (AKO serves only those: TCP, UDP, TLS, SCTP spelled any way, example.com/sctp), or the label to remove. */}}
{{- define "sctpguard.cel.gatewayapi" -}}
object != null && (
  (has(object.spec) && has(object.spec.listeners) && object.spec.listeners.exists(l, !(l.protocol in ['HTTP', 'HTTPS']))) ||
  (has(object.metadata.labels) && 'sctpguard.io/sctp' in object.metadata.labels))
{{- end }}

{{/*
The webhooks of one configuration. Arguments: the root context and the kind ("mutate" or
"validate"). networking.x-k8s.io Gateways have no condition: every listener of theirs is L4.
*/}}
{{- define "sctpguard.webhooks" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- $v := $root.Values.webhook }}
{{- $hooks := list
  (dict "name" "services" "group" "" "versions" (list "v1") "resource" "services" "cel" "sctpguard.cel.services" "status" true)
  (dict "name" "networkpolicies" "group" "networking.k8s.io" "versions" (list "v1") "resource" "networkpolicies" "cel" "sctpguard.cel.networkpolicies")
  (dict "name" "gateways" "group" "networking.x-k8s.io" "versions" (list "v1alpha1") "resource" "gateways" "cel" "")
  (dict "name" "gatewayapi" "group" "gateway.networking.k8s.io" "versions" (list "v1" "v1beta1") "resource" "gateways" "cel" "sctpguard.cel.gatewayapi")
  (dict "name" "listenersets" "group" "gateway.networking.k8s.io" "versions" (list "v1") "resource" "listenersets" "cel" "sctpguard.cel.gatewayapi") }}
{{- $excluded := include "sctpguard.excludedNamespaces" $root | fromJsonArray }}
{{- range $hooks }}
{{- if not (and (eq $kind "mutate") (eq .name "networkpolicies")) }}
- name: {{ .name }}.{{ $kind }}.sctpguard.io
  admissionReviewVersions: ["v1"]
  clientConfig:
    service:
      name: {{ include "sctpguard.fullname" $root }}
      namespace: {{ $root.Release.Namespace }}
      path: /{{ $kind }}
      port: {{ $root.Values.service.port }}
  rules:
    - apiGroups: [{{ .group | quote }}]
      apiVersions: {{ toJson .versions }}
      resources: [{{ .resource }}{{ if and .status (eq $kind "validate") }}, {{ .resource }}/status{{ end }}]
      operations: [CREATE, UPDATE]
      scope: Namespaced
  failurePolicy: {{ $v.failurePolicy }}
  matchPolicy: Equivalent
  sideEffects: None
  timeoutSeconds: {{ $v.timeoutSeconds }}
  namespaceSelector:
    matchExpressions:
      - key: {{ $v.optOutLabel }}
        operator: NotIn
        values: ["true"]
      {{- if $excluded }}
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values: {{ toJson $excluded }}
      {{- end }}
  {{- if eq $kind "mutate" }}
  # Another mutating webhook may add an SCTP port after sctpguard ran.
  reinvocationPolicy: IfNeeded
  {{- end }}
  {{- $conditions := list }}
  {{- if and $v.matchConditions.enabled .cel }}
  {{- $conditions = append $conditions (dict "name" "sctp-relevant" "expression" (include .cel $root)) }}
  {{- end }}
  {{- $conditions = concat $conditions $v.matchConditions.extra }}
  {{- with $conditions }}
  matchConditions:
    {{- range . }}
    - name: {{ .name }}
      expression: |-
        {{- .expression | nindent 8 }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}
