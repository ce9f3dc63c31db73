import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export interface StoredReading {
  seq: number;
  deviceId: string;
  /** The MQTT payload, as it will be published. */
  payload: string;
}

/**
 * Unsent telemetry, kept as field devices keep it: every reading is appended here first and deleted only once the
 * broker acknowledged it (PUBACK), so readings survive a broker outage and a restart of the simulator, and go out in
 * the order they were taken (`seq`).
 *
 * SQLite through Node's built-in `node:sqlite` (Node 24): no native addon to build or download (better-sqlite3 needs an
 * install script, and its prebuilt binary must match the runtime's ABI), synchronous calls that cost a few µs, crash
 * safety from SQLite's WAL (a killed process loses nothing it committed; `synchronous=NORMAL` may lose the last
 * transactions on a power cut, as a device's flash would). `:memory:` gives a store that lives as long as the process.
 */
export class TelemetryStore {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly after: StatementSync;
  private readonly afterForDevice: StatementSync;
  private readonly remove: StatementSync;
  private readonly countAll: StatementSync;
  private readonly countDevice: StatementSync;

  constructor(readonly path: string = ':memory:') {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS reading (seq INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, payload TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS reading_device ON reading (device_id, seq);`);
    this.insert = this.db.prepare(`INSERT INTO reading (device_id, payload) VALUES (?, ?)`);
    this.after = this.db.prepare(`SELECT seq, device_id AS deviceId, payload FROM reading WHERE seq > ? ORDER BY seq LIMIT ?`);
    this.afterForDevice = this.db.prepare(`SELECT seq, device_id AS deviceId, payload FROM reading WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?`);
    this.remove = this.db.prepare(`DELETE FROM reading WHERE seq IN (SELECT value FROM json_each(?))`);
    this.countAll = this.db.prepare(`SELECT count(*) AS n FROM reading`);
    this.countDevice = this.db.prepare(`SELECT count(*) AS n FROM reading WHERE device_id = ?`);
  }

  /** Appends readings (one transaction). */
  append(readings: { deviceId: string; payload: string }[]): void {
    if (readings.length === 0) return;
    this.db.exec('BEGIN');
    try {
      for (const r of readings) this.insert.run(r.deviceId, r.payload);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** The oldest readings after `afterSeq` (of one device, or of all), in order. */
  next(afterSeq: number, limit: number, deviceId?: string): StoredReading[] {
    const rows = deviceId === undefined ? this.after.all(afterSeq, limit) : this.afterForDevice.all(deviceId, afterSeq, limit);
    return rows as unknown as StoredReading[];
  }

  /** Deletes acknowledged readings. */
  delete(seqs: number[]): void {
    if (seqs.length > 0) this.remove.run(JSON.stringify(seqs));
  }

  count(deviceId?: string): number {
    const row = (deviceId === undefined ? this.countAll.get() : this.countDevice.get(deviceId)) as { n: number };
    return Number(row.n);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
