import { setUserRole } from '../../gateway/src/cli/user-role';
import { databaseOf, type Instance } from './instance';
import { services } from './services';

export interface Credentials {
  username: string;
  email: string;
  password: string;
}

/**
 * Registers a user through the stack's gateway (or finds it registered) and makes it an operator the way
 * `npm run user:role` does, on that stack instance's gateway database.
 */
export async function ensureOperator(gatewayUrl: string, instance: Instance | undefined, env: NodeJS.ProcessEnv, who: Credentials): Promise<void> {
  const registered = await fetch(`${gatewayUrl}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) });
  if (registered.status !== 201 && registered.status !== 409) throw new Error(`operator ${who.username}: register answered ${registered.status}`);
  const gateway = services.find((s) => s.name === 'gateway')!;
  await setUserRole(who.username, 'operator', { ...env, DATABASE_NAME: databaseOf(gateway, instance), LOG_LEVEL: 'warn' });
}
