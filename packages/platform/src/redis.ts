import { Redis } from 'ioredis';
import type { Logger } from './logger';

export { Redis } from 'ioredis';

export function createRedis(url: string, logger: Logger, name = 'redis'): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true, lazyConnect: false });
  client.on('error', (err: Error) => logger.warn({ err: err.message, name }, 'redis error'));
  return client;
}
