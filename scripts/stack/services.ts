/** The platform's processes, in start order (consumers before producers is not needed: Kafka keeps the events). */
export interface ServiceSpec {
  name: string;
  entry: string;
  port?: number;
  database?: string;
  /** Environment variable through which other services find this one. */
  urlVariable?: string;
}

export const services: ServiceSpec[] = [
  { name: 'device-service', entry: 'device-service/src/main.ts', port: 8101, database: 'ds_device', urlVariable: 'DEVICE_SERVICE_URL' },
  { name: 'command-service', entry: 'command-service/src/main.ts', port: 8102, database: 'ds_command', urlVariable: 'COMMAND_SERVICE_URL' },
  { name: 'alarm-service', entry: 'alarm-service/src/main.ts', port: 8103, database: 'ds_alarm', urlVariable: 'ALARM_SERVICE_URL' },
  { name: 'notification-service', entry: 'notification-service/src/main.ts', port: 8104, urlVariable: 'NOTIFICATION_SERVICE_URL' },
  { name: 'push-service', entry: 'push-service/src/main.ts', port: 8105, urlVariable: 'PUSH_SERVICE_URL' },
  { name: 'adapter', entry: 'adapter/src/main.ts', port: 8106, database: 'ds_adapter' },
  { name: 'gateway', entry: 'gateway/src/main.ts', port: 8080, database: 'ds_gateway' },
];

export const simulator: ServiceSpec = { name: 'device-simulator', entry: 'device-simulator/src/main.ts' };
