const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids in this service's tables are uuids; anything else cannot name a row here. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}
