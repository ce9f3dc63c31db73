import { createLogger, isMain, runMain, startHttpShell } from '@devicesaga/platform';

/**
 * push-service: only its HTTP shell so far (health, metrics); its capability lands with its own issue (DESIGN.md §1).
 */
const logger = createLogger('push-service');

export function start(overrides: Record<string, string> = {}) {
  return startHttpShell('push-service', 8105, logger, overrides);
}

if (isMain(module)) runMain(logger, start);
