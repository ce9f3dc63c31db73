import { z } from 'zod';
import type { Logger } from './logger';
import { initTracing, tracingEnv } from './tracing';

export interface Running {
  stop(): Promise<void>;
}

/**
 * What a service's `start()` builds, in order, with how to undo each step. `stop()` undoes them in reverse order
 * (a consumer drains before the bus closes, the bus before the database), once; a step that fails to stop is logged
 * and the others still run. When start-up fails half-way, `startup` undoes what was built before rethrowing, so a
 * failed start leaves no connection or timer behind.
 */
export class Lifecycle {
  private readonly steps: { name: string; stop: () => Promise<unknown> }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers how to undo what was just built. */
  onStop(name: string, stop: () => unknown): void {
    this.steps.push({ name, stop: () => Promise.resolve().then(stop) });
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.stop();
        } catch (err) {
          this.logger.warn({ err, step: step.name }, 'stop step failed');
        }
      }
    })());
  }

  /** Runs `build`; if it throws, stops what was built so far and rethrows. */
  async startup<T>(build: () => Promise<T>): Promise<T> {
    try {
      return await build();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }
}

/**
 * Runs a service's `start()` as the process's main: tracing from the environment (OTEL_*), SIGTERM/SIGINT drain it
 * through `stop()` (in-flight work finishes, offsets commit), a second signal or a 20 s stall exits at once; an
 * uncaught exception or unhandled rejection is logged as fatal and the service is stopped the same way (exit 1).
 */
export function runMain(logger: Logger, start: () => Promise<Running>): void {
  const serviceName = String((logger.bindings() as { service?: string }).service ?? 'service');
  const tracing = initTracing(serviceName, z.object(tracingEnv).parse(process.env));
  let running: Running | undefined;
  let stopping = false;
  const shutdown = (reason: string, code: number) => {
    if (stopping) {
      logger.warn({ reason }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ reason }, 'stopping');
    setTimeout(() => {
      logger.error('stop took longer than 20 s: exiting');
      process.exit(1);
    }, 20_000).unref();
    (running ? running.stop() : Promise.resolve())
      .then(() => tracing.shutdown())
      .then(() => {
        logger.info('stopped');
        process.exit(code);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    shutdown('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    shutdown('unhandledRejection', 1);
  });
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
