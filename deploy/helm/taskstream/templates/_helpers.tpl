{{/* The name prefix of the release's objects. */}}
{{- define "taskstream.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "taskstream.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "service" NAME). */}}
{{- define "taskstream.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "taskstream.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Kafka cluster's name and its bootstrap service (Strimzi: <cluster>-kafka-bootstrap). */}}
{{- define "taskstream.kafka" -}}
{{ include "taskstream.fullname" . }}-kafka
{{- end -}}

{{- define "taskstream.brokers" -}}
{{- if .Values.kafka.strimzi -}}
{{ include "taskstream.kafka" . }}-kafka-bootstrap.{{ .Release.Namespace }}.svc:9092
{{- else -}}
{{ required "dapr.externalKafka.brokers is required when kafka.strimzi is false" .Values.dapr.externalKafka.brokers }}
{{- end -}}
{{- end -}}

{{- define "taskstream.postgresql" -}}
{{ include "taskstream.fullname" . }}-postgresql
{{- end -}}

{{/* The Secrets holding the tokens between each app and its sidecar (key "token", as
     Dapr's api-token-secret and app-token-secret annotations expect). */}}
{{- define "taskstream.daprApiTokenSecret" -}}
{{ include "taskstream.fullname" . }}-dapr-api-token
{{- end -}}
{{- define "taskstream.appApiTokenSecret" -}}
{{ include "taskstream.fullname" . }}-app-api-token
{{- end -}}

{{/* The dead-letter topic of a service's subscription: dead-letters.<service>.<topic>,
     as adapters/dapr.py names it. (dict "service" NAME "topic" TOPIC) */}}
{{- define "taskstream.deadLetterTopic" -}}
dead-letters.{{ .service }}.{{ .topic }}
{{- end -}}

{{/* A random value that survives upgrades: the existing Secret's, else a new one.
     (dict "root" $ "name" SECRET "key" KEY "length" N) */}}
{{- define "taskstream.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}
