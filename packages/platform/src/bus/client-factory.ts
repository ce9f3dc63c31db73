import type { KafkaClient } from './types';
import type { ClientOptions } from './client-common';
import { KafkajsClient } from './kafkajs-client';
import { PlatformaticClient } from './platformatic-client';

export type KafkaClientName = KafkaClient['name'];
export const kafkaClientNames: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

/** Builds the client adapter named by `KAFKA_CLIENT`. */
export function createKafkaClient(name: KafkaClientName, options: ClientOptions): KafkaClient {
  switch (name) {
    case 'kafkajs':
      return new KafkajsClient(options);
    case 'platformatic':
      return new PlatformaticClient(options);
    default: {
      const never: never = name;
      throw new Error(`unknown Kafka client ${String(never)}`);
    }
  }
}
