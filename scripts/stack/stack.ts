import path from 'node:path';
import { root, spawnService, stopProcess, waitReady, type Started } from './processes';
import { services, simulator } from './services';

export interface StackOptions {
  env?: NodeJS.ProcessEnv;
  logDir?: string;
  withSimulatorFarm?: boolean;
  simulatorArgs?: string[];
  onProgress?: (line: string) => void;
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
    for (const spec of services) started.push(spawnService(spec, env, logDir));
    await Promise.all(
      started.map(async (s) => {
        const t0 = Date.now();
        await waitReady(s);
        progress(`${s.spec.name} ready on :${s.spec.port} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }),
    );
    if (options.withSimulatorFarm) {
      started.push(spawnService(simulator, env, logDir, ['--farm', ...(options.simulatorArgs ?? [])]));
      progress('device simulator farm started');
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { gatewayUrl: 'http://127.0.0.1:8080', processes: started, stop };
}
