import type { ServiceSpec } from './services';

/**
 * A named stack instance beside the default one on the same infrastructure: its own ports (offset), databases
 * (`<db>_<name>`, created by each service on its first start), Kafka topics (prefix `<name>.`) and consumer groups
 * (suffix `-<name>`), and its own MQTT session and shared-subscription group for the adapter. So `npm test` or a
 * benchmark can run while `npm start` does.
 */
export interface Instance {
  name: string;
  portOffset: number;
}

export function portOf(spec: ServiceSpec, instance?: Instance): number | undefined {
  return spec.port === undefined ? undefined : spec.port + (instance?.portOffset ?? 0);
}

export function databaseOf(spec: ServiceSpec, instance?: Instance): string | undefined {
  return spec.database && instance ? `${spec.database}_${instance.name}` : spec.database;
}

/** The environment one service of the stack runs with. */
export function serviceEnv(spec: ServiceSpec, all: ServiceSpec[], instance?: Instance): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const other of all) {
    const port = portOf(other, instance);
    if (other.urlVariable && port !== undefined) env[other.urlVariable] = `http://127.0.0.1:${port}`;
  }
  const port = portOf(spec, instance);
  if (port !== undefined) env.PORT = String(port);
  const database = databaseOf(spec, instance);
  if (database) env.DATABASE_NAME = database;
  if (instance) {
    env.TOPIC_PREFIX = `${instance.name}.`;
    env.GROUP_SUFFIX = `-${instance.name}`;
    env.MQTT_CLIENT_ID = `devicesaga-adapter-${instance.name}`;
    env.MQTT_SHARE_GROUP = `adapter-${instance.name}`;
    env.MQTT_COMMAND_ORIGIN = `devicesaga-${instance.name}`;
  }
  return env;
}

/**
 * The environment of the simulator farm of a stack: its own MQTT session (client id), the commands of its own
 * adapter only (origin), its own telemetry store — so a test or benchmark stack never shares an MQTT session with
 * `npm start`'s farm, and neither plays the other's devices.
 */
export function simulatorEnv(instance?: Instance): NodeJS.ProcessEnv {
  const clientId = instance ? `devicesaga-simulator-farm-${instance.name}` : 'devicesaga-simulator-farm';
  return {
    MQTT_SIMULATOR_CLIENT_ID: clientId,
    MQTT_COMMAND_ORIGIN: instance ? `devicesaga-${instance.name}` : 'devicesaga',
    SIMULATOR_STORE: `.run/simulator/${clientId}.sqlite`,
  };
}
