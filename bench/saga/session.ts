import path from 'node:path';
import { Redis } from 'ioredis';
import { startStack } from '../../scripts/stack/stack';
import { root } from '../../scripts/stack/processes';
import type { Instance } from '../../scripts/stack/instance';
import { runPhase, type Target } from './load';
import { prepareTarget, removeTarget } from './target';

/** The saga benchmarks' stack instance (not +2000: fetch refuses port 10080, on the Fetch standard's bad-port list). */
export const sagaBenchInstance: Instance = { name: 'sagabench', portOffset: 3000 };

export interface SagaBenchSession {
  target: Target;
  /** Subscribed by runPhase to the user's command channel. */
  subscriber: Redis;
}

/**
 * Starts the `sagabench` stack instance with the simulator farm, registers a user with `devices` devices, sends one
 * command to every device (each comes online at the simulator and the adapter on its first command, which must not be
 * measured; JIT and pools warm up too), runs `work`, then deletes the devices (their MQTT clients and retained statuses
 * go with them) and stops the stack.
 */
export async function withSagaBench<T>(
  options: { devices: number; log: (line: string) => void; env?: NodeJS.ProcessEnv },
  work: (session: SagaBenchSession) => Promise<T>,
): Promise<T> {
  const { log } = options;
  const stack = await startStack({
    instance: sagaBenchInstance,
    env: { LOG_LEVEL: 'warn', RATE_LIMIT_USER_PER_SEC: '1000000', ...options.env },
    logDir: path.join(root, '.run/bench-logs'),
    withSimulatorFarm: true,
    simulatorArgs: ['--telemetry-ms', '0'],
    onProgress: log,
  });
  const subscriber = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let target: Target | undefined;
  try {
    target = await prepareTarget(stack.gatewayUrl, options.devices);
    log(`${target.sensors.length} devices with a temperature sensor each; warming up (one command per device at 50/s)`);
    await runPhase(target, subscriber, 50, target.sensors.length / 50, log);
    return await work({ target, subscriber });
  } finally {
    if (target) await removeTarget(target).catch((err: unknown) => console.error(`removing the benchmark devices failed: ${String(err)}`));
    subscriber.disconnect();
    await stack.stop();
  }
}
