import type { Handler } from '@devicesaga/platform';
import { applyMeasurements } from '../saga/saga';
import { sagaContext, type HandlerDeps } from './context';

/** `adapter.measure_received`: current values follow the device (except a setpoint still in flight). */
export const onAdapterMeasureReceived =
  (deps: HandlerDeps): Handler<'adapter.measure_received'> =>
  async (event, ctx) => {
    await applyMeasurements(sagaContext(event, ctx, deps), event.payload);
  };
