/** The platform's processes, in start order (consumers before producers is not needed: Kafka keeps the events). */
export interface ServiceSpec {
  name: string;
  entry: string;
  port?: number;
}

export const services: ServiceSpec[] = [
  { name: 'device-service', entry: 'device-service/src/main.ts', port: 8101 },
  { name: 'command-service', entry: 'command-service/src/main.ts', port: 8102 },
  { name: 'alarm-service', entry: 'alarm-service/src/main.ts', port: 8103 },
  { name: 'notification-service', entry: 'notification-service/src/main.ts', port: 8104 },
  { name: 'push-service', entry: 'push-service/src/main.ts', port: 8105 },
  { name: 'adapter', entry: 'adapter/src/main.ts', port: 8106 },
  { name: 'gateway', entry: 'gateway/src/main.ts', port: 8080 },
];

export const simulator: ServiceSpec = { name: 'device-simulator', entry: 'device-simulator/src/main.ts' };
