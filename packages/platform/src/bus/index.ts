export * from './types';
export { createBus, type BusOptions, type BusInstance } from './create-bus';
export { createKafkaClient, kafkaClientNames, type KafkaClientName } from './client-factory';
export type { ClientOptions } from './client-common';
export { KafkajsClient } from './kafkajs-client';
export { PlatformaticClient } from './platformatic-client';
export { SchemaCodec, SchemaRegistryError, SchemaValidationError, registerJsonSchema, type Decoded } from './schema-codec';
export {
  busMigrations,
  BusOutboxInbox1767225600000,
  outboxInsertSql,
  OutboxRelay,
  OUTBOX_CHANNEL,
  RELAY_LOCK_CLASS,
  type RelayOptions,
  type RetentionRule,
} from './outbox';
export { createBatchHandler, type RunnerDeps } from './consumer-runner';
export { runTransaction, type RelayLink, type TxOptions } from './transaction';
export { handleOnce, type HandleOnceOptions } from './handle-once';
export { createBusMetrics, type BusMetricsOptions } from './metrics';
export { DlqAdmin, type DlqMessage, type DlqRef, type DlqAdminOptions } from './dlq-admin';
