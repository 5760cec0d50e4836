{{/* The chart's name, overridable. */}}
{{- define "sctpguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of the release's objects: the Deployment, the Service, both webhook configurations
(the binary's --webhook-configuration) and the RBAC objects.
*/}}
{{- define "sctpguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "sctpguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sctpguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the webhook pods. */}}
{{- define "sctpguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sctpguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The service account of the webhook pods. */}}
{{- define "sctpguard.serviceAccountName" -}}
{{- default (include "sctpguard.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* The image reference: a digest wins over a tag; the tag defaults to the chart's appVersion. */}}
{{- define "sctpguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret of the webhook's serving certificate (cert-manager's, or the binary's own). */}}
{{- define "sctpguard.certSecretName" -}}
{{- printf "%s-webhook-tls" (include "sctpguard.fullname" .) }}
{{- end }}

{{/* The serving Certificate (cert-manager mode), named by inject-ca-from. */}}
{{- define "sctpguard.servingCertificateName" -}}
{{- printf "%s-webhook" (include "sctpguard.fullname" .) }}
{{- end }}

{{/* The container security context shared by every container of the chart. */}}
{{- define "sctpguard.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* The pod security context shared by every pod of the chart. */}}
{{- define "sctpguard.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The namespaces the webhooks skip besides the opted-out ones: the release's own (sctpguard must
never wait on itself) and webhook.excludeNamespaces.
*/}}
{{- define "sctpguard.excludedNamespaces" -}}
{{- $ns := list }}
{{- if .Values.webhook.excludeReleaseNamespace }}
{{- $ns = append $ns .Release.Namespace }}
{{- end }}
{{- range .Values.webhook.excludeNamespaces }}
{{- if not (has . $ns) }}
{{- $ns = append $ns . }}
{{- end }}
{{- end }}
{{- toJson $ns }}
{{- end }}

{{/* One dialing container of the SCTP verification Job. Arguments: the target, the image, probe.okdVerification, the root. */}}
{{- define "sctpguard.probeContainer" -}}
{{- $c := index . 0 }}{{- $image := index . 1 }}{{- $probe := index . 2 }}{{- $root := index . 3 }}
- name: {{ $c.name }}
  image: {{ $image }}
  command: ["sctpguard"]
  args: ["probe", "connect", {{ $c.address | quote }}, "--count", {{ $probe.count | toString | quote }}, "--timeout", {{ $probe.timeout | quote }}, "-o", "json"]
  {{- if eq $c.name "node-port" }}
  env:
    - name: NODE_IP
      valueFrom:
        fieldRef:
          fieldPath: status.hostIP
  {{- end }}
  resources:
    {{- toYaml $probe.resources | nindent 4 }}
  securityContext:
    {{- include "sctpguard.containerSecurityContext" $root | nindent 4 }}
{{- end }}

{{/*
The namespace of the helm test's dry run: tests.namespace, or by default "default" (and
"kube-public" when sctpguard itself is installed in "default", which the webhooks skip).
*/}}
{{- define "sctpguard.testNamespace" -}}
{{- if .Values.tests.namespace }}
{{- .Values.tests.namespace }}
{{- else if eq .Release.Namespace "default" }}
{{- "kube-public" }}
{{- else }}
{{- "default" }}
{{- end }}
{{- end }}
