{{- define "understudy.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "understudy.headless" -}}{{ include "understudy.fullname" . }}-headless{{- end -}}

{{/* The stable DNS suffix of the pods: .<headless>.<ns>.svc[.<domain>] */}}
{{- define "understudy.domain" -}}
{{- printf "%s.%s.svc" (include "understudy.headless" .) .Release.Namespace -}}
{{- with .Values.clusterDomain }}.{{ . }}{{ end -}}
{{- end -}}

{{- define "understudy.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "understudy.labels" -}}
{{ include "understudy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Refuse what cannot run: an even or non-positive member count. */}}
{{- define "understudy.validate" -}}
{{- $n := int .Values.replicas -}}
{{- if or (lt $n 1) (eq (mod $n 2) 0) -}}
{{- fail (printf "replicas must be odd and at least 1 (got %d): an even count tolerates no more failures than the odd count below it, and a split in half has no majority" $n) -}}
{{- end -}}
{{- if not (has .Values.podAntiAffinity (list "soft" "hard")) -}}
{{- fail (printf "podAntiAffinity must be soft or hard (got %v)" .Values.podAntiAffinity) -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt)" -}}
{{- end -}}
{{- end -}}

{{/* id=host:raftport of every pod, the same on each: --peers */}}
{{- define "understudy.peers" -}}
{{- $full := include "understudy.fullname" . -}}
{{- $dom := include "understudy.domain" . -}}
{{- $out := list -}}
{{- range $i := until (int .Values.replicas) -}}
{{- $out = append $out (printf "%s-%d=%s-%d.%s:%d" $full $i $full $i $dom (int $.Values.ports.raft)) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* every pod's admin address: --join, and the prune hook's --admin */}}
{{- define "understudy.adminAddrs" -}}
{{- $full := include "understudy.fullname" . -}}
{{- $dom := include "understudy.domain" . -}}
{{- $out := list -}}
{{- range $i := until (int .Values.replicas) -}}
{{- $out = append $out (printf "%s-%d.%s:%d" $full $i $dom (int $.Values.ports.admin)) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{- define "understudy.adminTokenSecret" -}}
{{- .Values.auth.adminToken.existingSecret | default (printf "%s-admin-token" (include "understudy.fullname" .)) -}}
{{- end -}}
{{- define "understudy.requirepassSecret" -}}
{{- .Values.auth.requirepass.existingSecret | default (printf "%s-requirepass" (include "understudy.fullname" .)) -}}
{{- end -}}
{{- define "understudy.hasToken" -}}{{ if or .Values.auth.adminToken.existingSecret .Values.auth.adminToken.value }}true{{ end }}{{- end -}}
{{- define "understudy.hasPass" -}}{{ if or .Values.auth.requirepass.existingSecret .Values.auth.requirepass.value }}true{{ end }}{{- end -}}

{{/* Environment shared by the server and the CLI (hooks, preStop): the
     secrets' files and TLS, read by both under the same names. */}}
{{- define "understudy.secretEnv" -}}
{{- if include "understudy.hasToken" . }}
- name: UNDERSTUDY_ADMIN_TOKEN_FILE
  value: /etc/understudy/admin-token/{{ .Values.auth.adminToken.key }}
{{- end }}
{{- if .Values.tls.enabled }}
- name: UNDERSTUDY_TLS_CERT_FILE
  value: /etc/understudy/tls/tls.crt
- name: UNDERSTUDY_TLS_KEY_FILE
  value: /etc/understudy/tls/tls.key
- name: UNDERSTUDY_TLS_CA_CERT_FILE
  value: /etc/understudy/tls/ca.crt
{{- end }}
{{- end -}}

{{- define "understudy.secretMounts" -}}
{{- if include "understudy.hasToken" . }}
- name: admin-token
  mountPath: /etc/understudy/admin-token
  readOnly: true
{{- end }}
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/understudy/tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "understudy.secretVolumes" -}}
{{- if include "understudy.hasToken" . }}
- name: admin-token
  secret:
    secretName: {{ include "understudy.adminTokenSecret" . }}
    defaultMode: 0440
{{- end }}
{{- if .Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "understudy.securityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}
