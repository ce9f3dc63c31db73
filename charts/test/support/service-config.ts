import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig } from '@devicesaga/platform';

const root = path.resolve(__dirname, '..', '..', '..');

export interface ServiceConfig {
  /** Where the schema comes from: the service's src/config.ts, or the platform's HTTP shell (baseEnv + PORT). */
  source: string;
  /** Parses an environment as the service does at start-up; throws ConfigError naming each bad variable. */
  parse(env: NodeJS.ProcessEnv): Record<string, unknown>;
  /** Variables without a default: start-up fails without them. */
  required: string[];
}

/**
 * A service's environment schema, taken from its code: `config(env)` exported by `<service>/src/config.ts` (a zod
 * schema over the platform's baseEnv), or, for a service that is still an HTTP shell, the shell's own schema
 * (packages/platform/src/http-shell.ts: baseEnv plus PORT with the port its main.ts passes).
 */
export function serviceConfig(service: string, shellPort: number): ServiceConfig {
  const file = path.join(root, service, 'src', 'config.ts');
  let parse: (env: NodeJS.ProcessEnv) => Record<string, unknown>;
  let source: string;
  if (existsSync(file)) {
    const mod = jest.requireActual<{ config?: (env: NodeJS.ProcessEnv) => Record<string, unknown> }>(file);
    if (typeof mod.config !== 'function') throw new Error(`${file} exports no config(env) function`);
    parse = mod.config;
    source = `${service}/src/config.ts`;
  } else {
    parse = (env) => loadConfig({ PORT: z.coerce.number().int().min(0).default(shellPort) }, env);
    source = 'packages/platform/src/http-shell.ts';
  }
  return { source, parse, required: requiredVariables(parse) };
}

/** The variables an empty environment is refused for (loadConfig names each: "invalid environment: A: …; B: …"). */
function requiredVariables(parse: (env: NodeJS.ProcessEnv) => unknown): string[] {
  try {
    parse({});
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [...err.message.matchAll(/(?:: |; )([A-Z][A-Z0-9_]*): /g)].map((m) => m[1]!).sort();
  }
}
