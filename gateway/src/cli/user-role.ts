/**
 * `npm run user:role -- <username|email> <user|operator>`: gives a user a role. Takes effect within a second for
 * the user's open sessions and API keys on every gateway replica (the sessions are rewritten in place and every
 * replica is told over Redis), no new login needed. Uses the gateway's environment (DATABASE_*, REDIS_*).
 */
import { createDataSource, createLogger, createRedis, isMain, openDataSource } from '@devicesaga/platform';
import { Revocations } from '../auth/revocations';
import { SessionStore } from '../auth/sessions';
import { config } from '../config';
import { entities, userRoles, UserEntity, type UserRole } from '../db/entities';
import { migrations } from '../db/migrations';

export async function setUserRole(login: string, role: UserRole, env: NodeJS.ProcessEnv = process.env): Promise<{ id: string; username: string; sessions: number }> {
  const cfg = config(env);
  const logger = createLogger('gateway-cli', cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL);
  const dataSource = await openDataSource(createDataSource(cfg, { database: cfg.DATABASE_NAME, entities, migrations }), logger);
  const redis = createRedis(cfg.REDIS_URL, logger);
  try {
    await redis.ping(); // connected (the session store refuses to work on a connection that is not ready)
    const id = login.trim().toLowerCase();
    const user = await dataSource
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .where(id.includes('@') ? 'lower(u.email) = :id' : 'lower(u.username) = :id', { id })
      .getOne();
    if (!user) throw new Error(`no user ${JSON.stringify(login)}`);
    await dataSource.getRepository(UserEntity).update({ id: user.id }, { role });
    const sessions = await new SessionStore(redis, cfg.REDIS_KEY_PREFIX, new Revocations(redis, cfg.REDIS_KEY_PREFIX, logger)).setRole(user.id, role);
    return { id: user.id, username: user.username, sessions };
  } finally {
    await redis.quit().catch(() => undefined);
    await dataSource.destroy();
  }
}

async function main(argv: string[]): Promise<void> {
  const [login, role] = argv;
  if (!login || !role || !(userRoles as readonly string[]).includes(role)) {
    process.stderr.write(`usage: npm run user:role -- <username|email> <${userRoles.join('|')}>\n`);
    process.exit(2);
  }
  const done = await setUserRole(login, role as UserRole);
  process.stdout.write(`${done.username} (${done.id}) is now ${role}; ${done.sessions} open session(s) updated\n`);
}

if (isMain(module)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
