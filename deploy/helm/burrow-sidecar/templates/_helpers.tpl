{{/* Chart name, truncated to the 63 characters DNS labels allow. */}}
{{- define "burrowSidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "burrowSidecar.fullname" -}}
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

{{- define "burrowSidecar.configMapName" -}}
{{- printf "%s-agent" (include "burrowSidecar.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "burrowSidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "burrowSidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "burrowSidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "burrowSidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: burrow
{{- end }}

{{/* The image reference; a digest wins over the tag. */}}
{{- define "burrowSidecar.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Pod securityContext with the seccomp profile. */}}
{{- define "burrowSidecar.podSecurityContext" -}}
{{- $ctx := deepCopy .Values.podSecurityContext }}
{{- $_ := set $ctx "seccompProfile" (dict "type" .Values.seccompProfile.type) }}
{{- toYaml $ctx }}
{{- end }}

{{/* Mount paths (also written into agent.yaml). */}}
{{- define "burrowSidecar.paths" -}}
config: /etc/burrow/agent
state: /var/lib/burrow
fleetCa: /etc/burrow/fleet-ca
relayCa: /etc/burrow/relay-ca
identity: /etc/burrow/identity
{{- end }}
