import type { DataSource } from 'typeorm';
import * as platform from '@devicesaga/platform';
import type { Bus, Logger } from '@devicesaga/platform';
import { enqueue } from '@devicesaga/platform/src/bus/outbox';

const SERVICE = 'command-service';

/** `createBus` as docs/service-conventions.md describes it (`@devicesaga/platform` does not export it yet). */
type CreateBus = (options: {
  serviceName: string;
  client: 'kafkajs' | 'platformatic';
  brokers: string[];
  registryUrl: string;
  dataSource: DataSource;
  logger: Logger;
}) => Bus | Promise<Bus>;

export interface BusSettings {
  KAFKA_CLIENT: 'kafkajs' | 'platformatic';
  KAFKA_BROKERS: string[];
  SCHEMA_REGISTRY_URL: string;
  BUS_ENABLED: boolean;
}

/**
 * The platform bus when it is there and enabled; otherwise an outbox-only bus: `enqueue` writes the platform's outbox
 * rows in the caller's transaction (so commands are never lost — the relay of a later start publishes them), and
 * there is no relay and no consumer. Used by tests (BUS_ENABLED=false) and until `createBus` is exported.
 */
export async function resolveBus(settings: BusSettings, dataSource: DataSource, logger: Logger): Promise<{ bus: Bus; connected: boolean }> {
  const createBus = (platform as unknown as { createBus?: CreateBus }).createBus;
  if (settings.BUS_ENABLED && typeof createBus === 'function') {
    const bus = await createBus({
      serviceName: SERVICE,
      client: settings.KAFKA_CLIENT,
      brokers: settings.KAFKA_BROKERS,
      registryUrl: settings.SCHEMA_REGISTRY_URL,
      dataSource,
      logger,
    });
    return { bus, connected: true };
  }
  if (settings.BUS_ENABLED) logger.warn('@devicesaga/platform exports no createBus yet: outbox only, no relay and no consumer');
  return { bus: outboxOnlyBus(logger), connected: false };
}

export function outboxOnlyBus(logger: Logger): Bus {
  return {
    enqueue: (manager, events) => enqueue(manager, SERVICE, events),
    publish: () => Promise.reject(new Error('outbox-only bus: publish is not available')),
    startRelay: () => Promise.resolve(),
    consume: () => {
      logger.info('outbox-only bus: no consumer started');
      return Promise.resolve({ stop: () => Promise.resolve() });
    },
    stop: () => Promise.resolve(),
  };
}
