import { z } from 'zod';

/**
 * Imported first by main.tsx. zod 4 compiles object parsers with `new Function` unless told not to; the gateway's
 * Content-Security-Policy has no 'unsafe-eval', so the probe would be reported as a CSP violation (a console error).
 * Parsing WebSocket frames and API answers without the JIT costs microseconds at the dashboard's rates.
 */
z.config({ jitless: true });
