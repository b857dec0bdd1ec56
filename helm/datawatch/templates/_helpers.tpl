{{/* Names and labels, as the prometheus-community charts write them. */}}
{{- define "datawatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "datawatch.fullname" -}}
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

{{- define "datawatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "datawatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "datawatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "datawatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: agent
{{- end }}

{{- define "datawatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "datawatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when the state store is PostgreSQL (shared state: replicas allowed), else "". */}}
{{- define "datawatch.postgres" -}}
{{- $state := toString .Values.config.agent.state -}}
{{- if or (hasPrefix "postgres://" $state) (hasPrefix "postgresql://" $state) -}}
true
{{- end -}}
{{- end }}

{{/* Refuses what cannot work: several writers on one SQLite file. */}}
{{- define "datawatch.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "datawatch.postgres" .)) -}}
{{- fail (printf "replicaCount %v needs a PostgreSQL state store: config.agent.state is %q; SQLite has one writer. Set config.agent.state to postgres://... (docs/deployment.md, High availability) or replicaCount to 1." .Values.replicaCount (toString .Values.config.agent.state)) -}}
{{- end -}}
{{- end }}
