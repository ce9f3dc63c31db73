import type { Logger } from './logger';

export interface Running {
  stop(): Promise<void>;
}

/**
 * Runs a service's `start()` as the process's main: SIGTERM/SIGINT drain it through `stop()` (in-flight work
 * finishes, offsets commit), a second signal or a 20 s stall exits at once.
 */
export function runMain(logger: Logger, start: () => Promise<Running>): void {
  let running: Running | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.error('stop took longer than 20 s: exiting');
      process.exit(1);
    }, 20_000).unref();
    (running ? running.stop() : Promise.resolve())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  start()
    .then((r) => {
      running = r;
    })
    .catch((err: unknown) => {
      logger.fatal({ err }, 'start failed');
      process.exit(1);
    });
}

/** True when this module is the process entry point (so `main.ts` can both export start() and run). */
export function isMain(mod: NodeJS.Module): boolean {
  return require.main === mod;
}
