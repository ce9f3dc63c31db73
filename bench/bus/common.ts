import pino from 'pino';
import { Client } from 'pg';

export type Mode = 'bare' | 'full';
export type Adapter = 'kafkajs' | 'platformatic';

export interface HopConfig {
  mode: Mode;
  adapter: Adapter;
  /** 1-based position in the chain. */
  index: number;
  inTopicPrefix: string;
  outTopicPrefix: string;
  brokers: string[];
  registryUrl: string;
  pgUrl: string;
  groupId: string;
}

export const TOPIC = 'notification.created' as const;
export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
export const pgBase = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const logger = pino({ level: process.env.BENCH_LOG ?? 'warn' });

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const now = () => performance.timeOrigin + performance.now();

export async function ensureDatabase(name: string): Promise<string> {
  const admin = new Client({ connectionString: `${pgBase}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `${pgBase}/${name}`;
}

export { percentile } from '../stats';
