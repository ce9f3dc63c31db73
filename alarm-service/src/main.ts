import { createLogger, isMain, runMain, startHttpShell } from '@devicesaga/platform';

/**
 * alarm-service: only its HTTP shell so far (health, metrics); its capability lands with its own issue (DESIGN.md §1).
 */
const logger = createLogger('alarm-service');

export function start(overrides: Record<string, string> = {}) {
  return startHttpShell('alarm-service', 8103, logger, overrides);
}

if (isMain(module)) runMain(logger, start);
