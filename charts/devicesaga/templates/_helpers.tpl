{{/* Base name of every object: <release>-devicesaga, or the release name when it already says devicesaga. */}}
{{- define "ds.fullname" -}}
{{- if contains "devicesaga" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-devicesaga" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ds.commonLabels" -}}
app.kubernetes.io/part-of: devicesaga
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ds.labels" -}}
{{ include "ds.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "name" "gateway") */}}
{{- define "ds.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{- define "ds.componentLabels" -}}
{{ include "ds.commonLabels" .ctx }}
{{ include "ds.selector" . }}
app.kubernetes.io/component: {{ .component | default "service" }}
{{- end -}}

{{/* --- where things are ------------------------------------------------------------------------------------- */}}
{{- define "ds.kafkaCluster" -}}{{ include "ds.fullname" . }}-kafka{{- end -}}
{{- define "ds.kafkaBootstrap" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- printf "%s-kafka-bootstrap:9092" (include "ds.kafkaCluster" .) -}}
{{- else -}}
{{- .Values.kafka.external.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{- define "ds.pgCluster" -}}{{ include "ds.fullname" . }}-pg{{- end -}}
{{- define "ds.pgHost" -}}
{{- if eq .Values.postgresql.mode "cnpg" -}}{{ include "ds.pgCluster" . }}-rw{{- else -}}{{ .Values.postgresql.external.host }}{{- end -}}
{{- end -}}
{{- define "ds.pgPort" -}}
{{- if eq .Values.postgresql.mode "cnpg" -}}5432{{- else -}}{{ .Values.postgresql.external.port }}{{- end -}}
{{- end -}}

{{/* The Secret (keys username, password) of a database user: (dict "ctx" $ "name" "gateway") */}}
{{- define "ds.dbSecret" -}}
{{- if eq .ctx.Values.postgresql.mode "cnpg" -}}
{{- printf "%s-db-%s" (include "ds.fullname" .ctx) .name -}}
{{- else -}}
{{- required (printf "postgresql.external.existingSecrets.%s: the Secret with username and password of %s's database user" .name .name) (index .ctx.Values.postgresql.external.existingSecrets .name) -}}
{{- end -}}
{{- end -}}

{{- define "ds.registryUrl" -}}
{{- if eq .Values.registry.mode "internal" -}}
{{- printf "http://%s-registry:8080/apis/ccompat/v7" (include "ds.fullname" .) -}}
{{- else -}}
{{- .Values.registry.external.url -}}
{{- end -}}
{{- end -}}

{{- define "ds.redisUrl" -}}
{{- if eq .Values.redis.mode "internal" -}}
{{- printf "redis://%s-redis:6379" (include "ds.fullname" .) -}}
{{- else -}}
{{- .Values.redis.external.url -}}
{{- end -}}
{{- end -}}

{{- define "ds.mqttUrl" -}}
{{- if eq .Values.mqtt.mode "internal" -}}
{{- printf "mqtt://%s-mosquitto:1884" (include "ds.fullname" .) -}}
{{- else -}}
{{- .Values.mqtt.external.url -}}
{{- end -}}
{{- end -}}

{{- define "ds.mqttSecret" -}}
{{- if .Values.mqtt.existingSecret -}}{{ .Values.mqtt.existingSecret }}
{{- else if eq .Values.mqtt.mode "internal" -}}{{ printf "%s-mqtt" (include "ds.fullname" .) }}
{{- else -}}{{ required "mqtt.existingSecret: the Secret with admin-password and adapter-password of the external broker" "" }}
{{- end -}}
{{- end -}}
{{- define "ds.jwtSecret" -}}{{ .Values.jwt.existingSecret | default (printf "%s-jwt" (include "ds.fullname" .)) }}{{- end -}}

{{/* A generated secret value that survives upgrades: (dict "ctx" $ "secret" name "key" key) -> base64 */}}
{{- define "ds.keptSecretValue" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 40 | b64enc -}}
{{- end -}}
{{- end -}}

{{/* Browser origins allowed by the gateway. */}}
{{- define "ds.allowedOrigins" -}}
{{- if .Values.ingress.allowedOrigins -}}
{{- join "," .Values.ingress.allowedOrigins -}}
{{- else -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host -}}
{{- end -}}
{{- end -}}

{{/* Environment variable names of the URL through which the gateway finds each service. */}}
{{- define "ds.urlVariables" -}}
device-service: DEVICE_SERVICE_URL
command-service: COMMAND_SERVICE_URL
alarm-service: ALARM_SERVICE_URL
notification-service: NOTIFICATION_SERVICE_URL
push-service: PUSH_SERVICE_URL
{{- end -}}

{{/* Database owners: every enabled service with a database, and the registry. A YAML list of {name, role, database}. */}}
{{- define "ds.pgOwners" -}}
{{- range $name, $svc := .Values.services }}
{{- if and $svc.enabled $svc.database }}
- { name: {{ $name }}, role: {{ $svc.database }}, database: {{ $svc.database }} }
{{- end }}
{{- end }}
{{- if eq .Values.registry.mode "internal" }}
- { name: registry, role: {{ .Values.registry.database }}, database: {{ .Values.registry.database }} }
{{- end }}
{{- end -}}
