import type { DataSource } from 'typeorm';
import { busFromConfig, runTransaction, type Bus, type Logger } from '@devicesaga/platform';
import type { Registry } from 'prom-client';

const SERVICE = 'command-service';

export interface BusSettings {
  KAFKA_CLIENT: 'kafkajs' | 'platformatic';
  KAFKA_BROKERS: string[];
  SCHEMA_REGISTRY_URL: string;
  BUS_ENABLED: boolean;
  TOPIC_PREFIX: string;
}

/**
 * The platform bus (Kafka), or with BUS_ENABLED=false an outbox-only bus: `transaction` writes the platform's outbox
 * rows as usual (a later start's relay publishes them), and there is no relay and no consumer.
 * Tests that drive the handlers directly use the latter, so they need no Kafka.
 */
export function resolveBus(settings: BusSettings, dataSource: DataSource, logger: Logger, registry: Registry): { bus: Bus; connected: boolean } {
  if (!settings.BUS_ENABLED) return { bus: outboxOnlyBus(dataSource, logger), connected: false };
  const bus = busFromConfig(settings, { serviceName: SERVICE, dataSource, logger, metrics: { registry } });
  return { bus, connected: true };
}

function outboxOnlyBus(dataSource: DataSource, logger: Logger): Bus {
  return {
    transaction: async (work) => (await runTransaction({ dataSource, serviceName: SERVICE, logger }, work)).value,
    publish: () => Promise.reject(new Error('outbox-only bus: publish is not available')),
    startRelay: () => Promise.resolve(),
    consume: () => Promise.resolve({ stop: () => Promise.resolve() }),
    stop: () => Promise.resolve(),
  };
}
