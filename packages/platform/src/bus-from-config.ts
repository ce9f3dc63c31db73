import type { DataSource } from 'typeorm';
import type { BaseConfig } from './config';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { createBus, type BusInstance, type RetentionRule } from './bus/index';

/** The one way a service builds its bus from its parsed environment (client, brokers, registry, namespacing). */
export function busFromConfig(
  config: Pick<BaseConfig, 'KAFKA_CLIENT' | 'KAFKA_BROKERS' | 'SCHEMA_REGISTRY_URL' | 'TOPIC_PREFIX'>,
  options: {
    serviceName: string;
    dataSource?: DataSource;
    logger: Logger;
    metrics?: Pick<Metrics, 'registry'>;
    /** The service's bookkeeping rows that may go (the active outbox relay deletes them, with old inbox entries). */
    retention?: RetentionRule[];
  },
): BusInstance {
  return createBus({
    serviceName: options.serviceName,
    client: config.KAFKA_CLIENT,
    brokers: config.KAFKA_BROKERS,
    registryUrl: config.SCHEMA_REGISTRY_URL,
    logger: options.logger,
    ...(options.dataSource ? { dataSource: options.dataSource } : {}),
    ...(options.metrics ? { metrics: { registry: options.metrics.registry } } : {}),
    ...(config.TOPIC_PREFIX ? { topicPrefix: config.TOPIC_PREFIX } : {}),
    ...(options.retention ? { relay: { retention: options.retention } } : {}),
  });
}

/** A consumer group id of this stack: the service name plus GROUP_SUFFIX. */
export function groupId(config: Pick<BaseConfig, 'GROUP_SUFFIX'>, serviceName: string): string {
  return `${serviceName}${config.GROUP_SUFFIX}`;
}
