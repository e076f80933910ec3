{{/*
Named templates for the sidecar. They take the root context (.) of a chart whose values have this
chart's layout: this chart's own Deployment uses them, and an existing chart that has this chart as
a dependency (alias burrowSidecar) includes them with that context, e.g.

  initContainers:
    {{- include "burrowSidecar.initContainers" (dict "Values" .Values.burrowSidecar "Release" .Release "Chart" (dict "Name" "burrow-sidecar" "Version" "0.1.0" "AppVersion" "0.1.0")) | nindent 4 }}

docs/sidecar.md shows the whole recipe.
*/}}

{{/* A short-lived JVM that asks the running agent over its local API (exit 0 = ready). */}}
{{- define "burrowSidecar.readyCommand" -}}
{{- $p := fromYaml (include "burrowSidecar.paths" .) }}
- java
- -XX:TieredStopAtLevel=1
- -XX:+UseSerialGC
- -Xmx32m
- -jar
- /opt/burrow/burrow.jar
- ready
- --quiet
- --state
- {{ $p.state }}
{{- end }}

{{/* The agent container (also used as a native sidecar when sidecar.native). */}}
{{- define "burrowSidecar.container" -}}
{{- $p := fromYaml (include "burrowSidecar.paths" .) }}
{{- $id := .Values.identity }}
- name: {{ .Values.sidecar.containerName }}
  image: {{ include "burrowSidecar.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if .Values.sidecar.native }}
  restartPolicy: Always
  {{- end }}
  command:
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
  args:
    - agent
  env:
    - name: BURROW_CONFIG
      value: {{ printf "%s/agent.yaml" $p.config | quote }}
    - name: BURROW_STATE
      value: {{ $p.state | quote }}
    {{- if eq $id.mode "joinToken" }}
    - name: BURROW_JOIN_TOKEN
      valueFrom:
        secretKeyRef:
          name: {{ required "identity.joinToken.existingSecret: name the Secret holding the join token" $id.joinToken.existingSecret }}
          key: {{ $id.joinToken.key }}
    {{- end }}
    {{- with $id.name }}
    - name: BURROW_NAME
      value: {{ . | quote }}
    {{- end }}
    {{- with .Values.agent.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if .Values.probes.startup.enabled }}
  startupProbe:
    exec:
      command:
        {{- include "burrowSidecar.readyCommand" . | nindent 8 }}
    periodSeconds: {{ .Values.probes.startup.periodSeconds }}
    failureThreshold: {{ .Values.probes.startup.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
  {{- end }}
  readinessProbe:
    exec:
      command:
        {{- include "burrowSidecar.readyCommand" . | nindent 8 }}
    periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
    failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  resources:
    {{- toYaml .Values.sidecar.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: burrow-agent-config
      mountPath: {{ $p.config }}
      readOnly: true
    - name: burrow-state
      mountPath: {{ $p.state }}
    - name: burrow-tmp
      mountPath: /tmp
    {{- if or .Values.agent.fleetCa.existingSecret .Values.agent.fleetCa.existingConfigMap }}
    - name: burrow-fleet-ca
      mountPath: {{ $p.fleetCa }}
      readOnly: true
    {{- end }}
    {{- if or .Values.agent.relay.ca.existingSecret .Values.agent.relay.ca.existingConfigMap }}
    - name: burrow-relay-ca
      mountPath: {{ $p.relayCa }}
      readOnly: true
    {{- end }}
{{- end }}

{{/*
Init containers: with identity.mode=secret, copy the node key and certificate from the Secret into
the state emptyDir with owner-only permissions (the agent refuses a key others can read, and a
Secret volume with fsGroup is group-readable). With sidecar.native, the agent follows.
*/}}
{{- define "burrowSidecar.initContainers" -}}
{{- $p := fromYaml (include "burrowSidecar.paths" .) }}
{{- $id := .Values.identity }}
{{- if eq $id.mode "secret" }}
- name: {{ .Values.sidecar.containerName }}-identity
  image: {{ include "burrowSidecar.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - sh
    - -ec
    - {{ printf "umask 077 && cp %s/%s %s/node.key && cp %s/%s %s/node.crt && chmod 600 %s/node.key %s/node.crt" $p.identity $id.secret.keyFile $p.state $p.identity $id.secret.certFile $p.state $p.state $p.state | quote }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  resources:
    requests:
      cpu: 10m
      memory: 16Mi
    limits:
      memory: 16Mi
  volumeMounts:
    - name: burrow-identity
      mountPath: {{ $p.identity }}
      readOnly: true
    - name: burrow-state
      mountPath: {{ $p.state }}
{{- end }}
{{- if .Values.sidecar.native }}
{{ include "burrowSidecar.container" . }}
{{- end }}
{{- end }}

{{/* The sidecar's pod volumes. */}}
{{- define "burrowSidecar.volumes" -}}
{{- $id := .Values.identity }}
- name: burrow-agent-config
  configMap:
    name: {{ include "burrowSidecar.configMapName" . }}
- name: burrow-state
  emptyDir:
    sizeLimit: 16Mi
- name: burrow-tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if eq $id.mode "secret" }}
- name: burrow-identity
  secret:
    secretName: {{ required "identity.secret.existingSecret: name the Secret holding node.key and node.crt" $id.secret.existingSecret }}
    defaultMode: 0400
{{- end }}
{{- with .Values.agent.fleetCa.existingSecret }}
- name: burrow-fleet-ca
  secret:
    secretName: {{ . }}
{{- else }}
{{- with .Values.agent.fleetCa.existingConfigMap }}
- name: burrow-fleet-ca
  configMap:
    name: {{ . }}
{{- end }}
{{- end }}
{{- with .Values.agent.relay.ca.existingSecret }}
- name: burrow-relay-ca
  secret:
    secretName: {{ . }}
{{- else }}
{{- with .Values.agent.relay.ca.existingConfigMap }}
- name: burrow-relay-ca
  configMap:
    name: {{ . }}
{{- end }}
{{- end }}
{{- end }}
