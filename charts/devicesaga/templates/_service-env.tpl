{{/* The MQTT identity a service connects with (infra/README.md, "MQTT identities and ACLs"). */}}
{{- define "ds.mqttIdentities" -}}
device-service: { usernameVariable: MQTT_ADMIN_USERNAME, passwordVariable: MQTT_ADMIN_PASSWORD, username: admin, secretKey: admin-password }
adapter: { usernameVariable: MQTT_ADAPTER_USERNAME, passwordVariable: MQTT_ADAPTER_PASSWORD, username: svc-adapter, secretKey: adapter-password }
{{- end -}}

{{/* Container image of one service: (dict "ctx" $ "name" "gateway") */}}
{{- define "ds.serviceImage" -}}
{{- printf "%s/%s:%s" .ctx.Values.image.repository .name (.ctx.Values.image.tag | default .ctx.Chart.AppVersion) -}}
{{- end -}}

{{/* The environment of one service's container, beside the common ConfigMap: (dict "ctx" $ "name" $name "svc" $svc) */}}
{{- define "ds.serviceEnv" -}}
{{- $ctx := .ctx -}}
- name: PORT
  value: {{ .svc.port | quote }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef: { name: {{ include "ds.jwtSecret" $ctx }}, key: {{ $ctx.Values.jwt.secretKey }} }
{{- if .svc.database }}
- name: DATABASE_NAME
  value: {{ .svc.database | quote }}
- name: DATABASE_USER
  valueFrom:
    secretKeyRef: { name: {{ include "ds.dbSecret" (dict "ctx" $ctx "name" .name) }}, key: username }
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "ds.dbSecret" (dict "ctx" $ctx "name" .name) }}, key: password }
{{- end }}
{{- $mqtt := include "ds.mqttIdentities" $ctx | fromYaml }}
{{- with (index $mqtt .name) }}
- name: {{ .usernameVariable }}
  value: {{ .username }}
- name: {{ .passwordVariable }}
  valueFrom:
    secretKeyRef: { name: {{ include "ds.mqttSecret" $ctx }}, key: {{ .secretKey }} }
{{- end }}
{{- if eq .name "adapter" }}
- name: POD_NAME
  valueFrom:
    fieldRef: { fieldPath: metadata.name }
# one persistent MQTT session per replica, kept across restarts (StatefulSet pod names are stable)
- name: MQTT_CLIENT_ID
  value: "$(POD_NAME)"
{{- end }}
{{- if eq .name "gateway" }}
- name: ALLOWED_ORIGINS
  value: {{ include "ds.allowedOrigins" $ctx | quote }}
{{- end }}
{{- if and (eq $ctx.Values.kafka.mode "strimzi") (eq $ctx.Values.kafka.strimzi.authentication "scram-sha-512") }}
# the service's KafkaUser (its Secret is made by the Strimzi user operator)
- name: KAFKA_SASL_MECHANISM
  value: scram-sha-512
- name: KAFKA_SASL_USERNAME
  value: {{ printf "%s-%s" (include "ds.fullname" $ctx) .name }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ printf "%s-%s" (include "ds.fullname" $ctx) .name }}, key: password }
{{- end }}
{{- range $k, $v := .svc.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}
