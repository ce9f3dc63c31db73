/**
 * Login names: 1–64 characters of letters, digits, `.`, `_`, `-`, starting with a letter or digit. No `@`, so a
 * login identifier is an email exactly when it contains one. Compared case-insensitively.
 */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/** The login name derived from an email's local part (invalid characters become `_`), before de-duplication. */
export function usernameBase(email: string): string {
  const local = email.split('@')[0] ?? '';
  let base = local.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  if (!base) base = 'user';
  return base.slice(0, 56);
}

/**
 * Unique login names for users in the given order (oldest first): each gets its email's base, or the base with
 * `-2`, `-3`, … when that is taken (case-insensitively) by an earlier user or by `taken`.
 */
export function deriveUsernames(emails: readonly string[], taken: Iterable<string> = []): string[] {
  const used = new Set([...taken].map(normalizeUsername));
  return emails.map((email) => {
    const base = usernameBase(email);
    let candidate = base;
    for (let n = 2; used.has(normalizeUsername(candidate)); n++) candidate = `${base}-${n}`;
    used.add(normalizeUsername(candidate));
    return candidate;
  });
}
