import { createLogger, isMain, runMain, startHttpShell } from '@devicesaga/platform';

/**
 * notification-service: only its HTTP shell so far (health, metrics); its capability lands with its own issue (DESIGN.md §1).
 */
const logger = createLogger('notification-service');

export function start(overrides: Record<string, string> = {}) {
  return startHttpShell('notification-service', 8104, logger, overrides);
}

if (isMain(module)) runMain(logger, start);
