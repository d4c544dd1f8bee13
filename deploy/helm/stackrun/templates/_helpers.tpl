{{- define "stackrun.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stackrun.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; pass (dict "ctx" $ "component" "api"). */}}
{{- define "stackrun.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{ include "stackrun.selectorLabels" . }}
{{- end -}}

{{- define "stackrun.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stackrun.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "stackrun.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The STACKRUN_* environment shared by every container. */}}
{{- define "stackrun.env" -}}
- name: STACKRUN_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.databaseUrlKey }}
- name: STACKRUN_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.brokerUrlKey }}
- name: STACKRUN_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret.name }}
      key: {{ .Values.existingSecret.secretKeyKey }}
- name: STACKRUN_API_URL
  value: {{ printf "http://%s-api:%v" (include "stackrun.fullname" .) .Values.api.service.port | quote }}
- name: STACKRUN_DATA_DIR
  value: /var/lib/stackrun
- name: STACKRUN_TERRAFORM_BIN
  value: {{ .Values.terraformBin | quote }}
- name: STACKRUN_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.artifactsUrl }}
- name: STACKRUN_ARTIFACTS_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.s3EndpointUrl }}
- name: STACKRUN_S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The ServiceAccount of the API and beat, and the workers' (IRSA: values.yaml). */}}
{{- define "stackrun.serviceAccountName.api" -}}
{{- .Values.serviceAccount.api.name | default (include "stackrun.fullname" .) -}}
{{- end -}}

{{- define "stackrun.serviceAccountName.worker" -}}
{{- .Values.serviceAccount.worker.name | default (printf "%s-worker" (include "stackrun.fullname" .)) -}}
{{- end -}}

{{/* Pod-level settings shared by every workload; pass (dict "ctx" $ "serviceAccountName" NAME),
NAME empty for the namespace's default ServiceAccount (the migrate hook runs before the chart's
ServiceAccounts exist). */}}
{{- define "stackrun.podSpec" -}}
{{- $values := .ctx.Values -}}
{{- with $values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $values.podSecurityContext | nindent 2 }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: data
    emptyDir: {}
  - name: tmp
    emptyDir: {}
{{- end -}}

{{- define "stackrun.volumeMounts" -}}
- name: data
  mountPath: /var/lib/stackrun
- name: tmp
  mountPath: /tmp
{{- end -}}
