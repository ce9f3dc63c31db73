#!/bin/sh
# Idempotent provisioning of the devicesaga Mosquitto (dynamic security): default ACLs, the roles of the platform and
# its service clients, with the passwords given in the environment (a changed password is applied). The same roles
# and ACLs as infra/infra.sh provision_mosquitto (infra/README.md, "MQTT identities and ACLs").
# Env: MQTT_HOST, MQTT_PORT, MQTT_ADMIN_PASSWORD, MQTT_ADAPTER_PASSWORD, [MQTT_SIMULATOR_PASSWORD]
set -eu
ctrl() { mosquitto_ctrl -h "$MQTT_HOST" -p "$MQTT_PORT" -u admin -P "$MQTT_ADMIN_PASSWORD" dynsec "$@" 2>&1 | grep -v -e '^Warning: You are running mosquitto_ctrl without encryption' -e '^This means all of the configuration changes' || true; }
tries=0
until clients=$(mosquitto_ctrl -h "$MQTT_HOST" -p "$MQTT_PORT" -u admin -P "$MQTT_ADMIN_PASSWORD" dynsec listClients 2>/dev/null); do
  tries=$((tries + 1)); [ "$tries" -lt 90 ] || { echo "broker $MQTT_HOST:$MQTT_PORT not answering as admin" >&2; exit 1; }
  sleep 2
done
roles=$(ctrl listRoles)
ctrl setDefaultACLAccess publishClientSend deny >/dev/null
ctrl setDefaultACLAccess subscribe deny >/dev/null

ensure_role() { # ensure_role <role> <acltype> <topic> ...
  role=$1; shift
  printf '%s\n' "$roles" | grep -qx "$role" || ctrl createRole "$role" >/dev/null
  acls=$(ctrl getRole "$role")
  while [ $# -gt 0 ]; do
    printf '%s\n' "$acls" | grep -qF " : allow : $2 (" || ctrl addRoleACL "$role" "$1" "$2" allow >/dev/null
    shift 2
  done
}
ensure_client() { # ensure_client <username> <password> <role>
  if printf '%s\n' "$clients" | grep -qx "$1"; then
    ctrl setClientPassword "$1" "$2" >/dev/null
  else
    ctrl createClient "$1" -p "$2" >/dev/null
    ctrl addClientRole "$1" "$3" >/dev/null
  fi
}

# Mosquitto checks subscribe ACLs against the whole filter: shared subscriptions need their own patterns.
ensure_role svc-adapter \
  subscribePattern 'devices/+/replies' subscribePattern 'devices/+/telemetry' subscribePattern 'devices/+/status' \
  subscribePattern '$share/+/devices/+/replies' subscribePattern '$share/+/devices/+/telemetry' \
  subscribePattern '$share/+/devices/+/status' \
  publishClientSend 'devices/+/commands'
# device-service administers device clients as admin and clears a deleted device's retained status
ensure_role admin publishClientSend 'devices/+/status'
ensure_client svc-adapter "$MQTT_ADAPTER_PASSWORD" svc-adapter
if [ -n "${MQTT_SIMULATOR_PASSWORD:-}" ]; then
  ensure_role svc-simulator \
    subscribePattern 'devices/+/commands' subscribePattern '$share/+/devices/+/commands' \
    publishClientSend 'devices/+/replies' publishClientSend 'devices/+/telemetry' publishClientSend 'devices/+/status'
  ensure_client svc-simulator "$MQTT_SIMULATOR_PASSWORD" svc-simulator
fi
echo "mosquitto provisioned: svc-adapter${MQTT_SIMULATOR_PASSWORD:+, svc-simulator}"
