import { hash, verify, type Algorithm } from '@node-rs/argon2';

/** argon2id with the OWASP-recommended cost (19 MiB, t=2, p=1). `Algorithm` is an ambient const enum: 2 = Argon2id. */
const OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/** Verifies against a throw-away hash so an unknown email costs as much as a wrong password. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('not-a-real-password-0000');
  await verifyPassword(await dummy, password);
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
