import { batch, type HandlerMap } from '@devicesaga/platform';
import { ingestBatch, type IngestDeps } from '../telemetry/ingest';

export type ConsumedTopic = 'adapter.measure_received';

/** Every consumed topic and its handler (a topic without one fails to compile). */
export function createHandlers(deps: IngestDeps): HandlerMap<ConsumedTopic> {
  return {
    // history and alarms of a whole batch: a few statements whatever its size (telemetry/ingest.ts)
    'adapter.measure_received': batch(async (events, ctx) => {
      await ingestBatch(deps, events, ctx);
    }),
  };
}
