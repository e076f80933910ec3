{{/*
Helpers. The burrow.* names are meant to be reused by the agent sidecar chart later: they take
the root context (.) and do not depend on relay-only values, except those under "Relay only".
*/}}

{{/* Chart name, truncated to the 63 characters DNS labels allow. */}}
{{- define "burrow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "burrow.fullname" -}}
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

{{/* A name derived from the full name: include "burrow.suffixedName" (list . "mesh"). */}}
{{- define "burrow.suffixedName" -}}
{{- $root := index . 0 }}
{{- $base := include "burrow.fullname" $root | trunc (int (sub 62 (len (index . 1)))) | trimSuffix "-" }}
{{- printf "%s-%s" $base (index . 1) }}
{{- end }}

{{- define "burrow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of a release (never add changing values here). */}}
{{- define "burrow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "burrow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels. */}}
{{- define "burrow.labels" -}}
helm.sh/chart: {{ include "burrow.chart" . }}
{{ include "burrow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: burrow
{{- end }}

{{- define "burrow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "burrow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference; a digest wins over the tag. */}}
{{- define "burrow.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* java and the JVM flags for containers; the burrow command follows as args. */}}
{{- define "burrow.javaCommand" -}}
- java
- --enable-native-access=ALL-UNNAMED
{{- range .Values.jvm.options }}
- {{ . | quote }}
{{- end }}
{{- range .Values.jvm.extraOptions }}
- {{ . | quote }}
{{- end }}
- -jar
- /opt/burrow/burrow.jar
{{- end }}

{{/* Pod securityContext with the seccomp profile. */}}
{{- define "burrow.podSecurityContext" -}}
{{- $ctx := deepCopy .Values.podSecurityContext }}
{{- if eq .Values.seccompProfile.type "Localhost" }}
{{- $_ := set $ctx "seccompProfile" (dict "type" "Localhost" "localhostProfile" .Values.seccompProfile.localhostProfile) }}
{{- else }}
{{- $_ := set $ctx "seccompProfile" (dict "type" .Values.seccompProfile.type) }}
{{- end }}
{{- toYaml $ctx }}
{{- end }}

{{/* ---------- Relay only ---------- */}}

{{- define "burrow.relay.meshServiceName" -}}
{{- include "burrow.suffixedName" (list . "mesh") }}
{{- end }}

{{/* The DNS name that resolves to every relay pod of the release (ready or not). */}}
{{- define "burrow.relay.meshDnsName" -}}
{{- printf "%s.%s.svc.%s" (include "burrow.relay.meshServiceName" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{- define "burrow.relay.configMapName" -}}
{{- include "burrow.suffixedName" (list . "config") }}
{{- end }}

{{- define "burrow.relay.envConfigMapName" -}}
{{- include "burrow.suffixedName" (list . "env") }}
{{- end }}

{{- define "burrow.relay.tlsSecretName" -}}
{{- default (include "burrow.suffixedName" (list . "tls")) .Values.tls.existingSecret }}
{{- end }}

{{- define "burrow.relay.meshSecretName" -}}
{{- default (include "burrow.suffixedName" (list . "mesh-key")) .Values.mesh.existingSecret }}
{{- end }}

{{/* Relays that run at least: decides whether a PodDisruptionBudget makes sense. */}}
{{- define "burrow.relay.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{/* Seconds Kubernetes waits after SIGTERM: preStop sleep + drain + margin. */}}
{{- define "burrow.relay.terminationGracePeriodSeconds" -}}
{{- add (int .Values.relay.preStopSleepSeconds) (int .Values.relay.drainGraceSeconds) (int .Values.relay.terminationMarginSeconds) }}
{{- end }}

{{/* Mount paths (also written into relay.yaml). */}}
{{- define "burrow.relay.paths" -}}
config: /etc/burrow/config
tls: /etc/burrow/tls
mesh: /etc/burrow/mesh
ca: /etc/burrow/ca
allow: /etc/burrow/allow
state: /var/lib/burrow
{{- end }}
