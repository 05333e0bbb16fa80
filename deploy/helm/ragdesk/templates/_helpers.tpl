{{- define "ragdesk.fullname" -}}
{{- printf "%s-ragdesk" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ragdesk.labels" -}}
app.kubernetes.io/name: ragdesk
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ragdesk.selector" -}}
app.kubernetes.io/name: ragdesk
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ragdesk.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{- define "ragdesk.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "ragdesk.fullname" .)) -}}
{{- end -}}

{{/* Scraped by Prometheus (kubernetes_sd pod role with the usual prometheus.io rules). */}}
{{- define "ragdesk.scrape" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end -}}

{{/* Settings and secrets every ragdesk container gets. */}}
{{- define "ragdesk.envFrom" -}}
- configMapRef:
    name: {{ include "ragdesk.fullname" . }}-settings
- secretRef:
    name: {{ include "ragdesk.secretName" . }}
{{- end -}}

{{- define "ragdesk.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ include "ragdesk.fullname" . }}-data
- name: models
  persistentVolumeClaim:
    claimName: {{ include "ragdesk.fullname" . }}-models
- name: inbox
  persistentVolumeClaim:
    claimName: {{ include "ragdesk.fullname" . }}-inbox
{{- end -}}

{{- define "ragdesk.mounts" -}}
- name: data
  mountPath: /data
- name: models
  mountPath: /models
- name: inbox
  mountPath: /inbox
{{- end -}}

{{- define "ragdesk.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
fsGroup: 10001
{{- end -}}
