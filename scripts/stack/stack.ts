import path from 'node:path';
import { portOf, serviceEnv, simulatorEnv, type Instance } from './instance';
import { buildAll } from '../build';
import { root, runtime, spawnService, stopProcess, waitReady, type Started } from './processes';
import { services, simulator } from './services';

export interface StackOptions {
  env?: NodeJS.ProcessEnv;
  logDir?: string;
  withSimulatorFarm?: boolean;
  simulatorArgs?: string[];
  onProgress?: (line: string) => void;
  /** Run beside the default stack (own ports, databases, topics, groups); see instance.ts. */
  instance?: Instance;
}

export interface Stack {
  gatewayUrl: string;
  processes: Started[];
  stop(): Promise<void>;
}

/** Starts every service as its own process, waits until each is ready, optionally the simulator farm. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env = { ...process.env, ...options.env };
  const logDir = options.logDir ?? path.join(root, '.run/logs');
  const progress = options.onProgress ?? (() => undefined);
  const started: Started[] = [];
  const stop = async () => {
    await Promise.all([...started].reverse().map((s) => stopProcess(s)));
  };
  try {
    if (runtime === 'node') await buildAll(progress);
    for (const spec of services) {
      started.push(spawnService(spec, { ...env, ...serviceEnv(spec, services, options.instance) }, logDir, [], portOf(spec, options.instance)));
    }
    await Promise.all(
      started.map(async (s) => {
        const t0 = Date.now();
        await waitReady(s);
        progress(`${s.spec.name} ready on :${s.port} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }),
    );
    if (options.withSimulatorFarm) {
      started.push(spawnService(simulator, { ...env, ...simulatorEnv(options.instance) }, logDir, ['--farm', ...(options.simulatorArgs ?? [])]));
      progress('device simulator farm started');
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const gateway = services.find((s) => s.name === 'gateway');
  const gatewayPort = gateway ? portOf(gateway, options.instance) : undefined;
  return { gatewayUrl: `http://127.0.0.1:${gatewayPort}`, processes: started, stop };
}
