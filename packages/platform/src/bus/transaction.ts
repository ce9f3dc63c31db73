import type { DataSource, QueryRunner } from 'typeorm';
import type { PoolClient } from 'pg';
import { escapeLiteral } from 'pg';
import type { Logger } from 'pino';
import type { Topic } from '@devicesaga/contracts';
import type { OutgoingEvent, TxContext } from './types';
import { buildRow, OUTBOX_CHANNEL, outboxInsertSql, type OutboxRow } from './outbox';
import { logContext } from '../logger';

/** How a transaction reaches the outbox relay of its database. */
export interface RelayLink {
  /** True while this process's relay holds the lock: then the relay is woken in memory instead of by NOTIFY. */
  readonly active: boolean;
  kick(): void;
}

export interface TxOptions {
  dataSource: DataSource;
  serviceName: string;
  logger: Logger;
  relay?: () => RelayLink | undefined;
  /** SQL (no parameters, values inlined as literals) sent in the same round trip as BEGIN; its result is returned. */
  firstStatement?: string;
  /**
   * The span an emitted event continues: the consumer span of the message its causation names, when it is one this
   * transaction handles. Otherwise the current request's span (HTTP), else a new trace.
   */
  parentTrace?: (causationId: string | null | undefined) => string | undefined;
}

export interface TxResult<T> {
  value: T;
  wroteOutbox: boolean;
}

/**
 * One PostgreSQL transaction with the outbox as its only door to Kafka: `ctx.emit` collects events (validated at once,
 * call order kept), and they are inserted with the COMMIT — `INSERT …; COMMIT` as one simple-protocol round trip, as
 * BEGIN travels with the first statement. So a transaction costs its own statements plus two round trips.
 * After the commit the relay is woken in memory when it runs in this process, else by one NOTIFY in the transaction
 * (never one per event); `afterCommit` callbacks run last, never for a transaction that rolled back.
 */
export async function runTransaction<T>(
  options: TxOptions,
  work: (ctx: TxContext, first: Record<string, unknown>[]) => Promise<T>,
): Promise<TxResult<T>> {
  const { dataSource, serviceName, logger } = options;
  const qr: QueryRunner = dataSource.createQueryRunner();
  await qr.connect();
  const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
  const outbox: OutboxRow[] = [];
  const after: (() => void)[] = [];
  let open = false;
  let broken = false;
  try {
    const begin = await client.query(options.firstStatement ? `BEGIN; ${options.firstStatement}` : 'BEGIN');
    open = true;
    // TypeORM: nested `manager.transaction` calls become savepoints of this transaction
    (qr as unknown as { isTransactionActive: boolean }).isTransactionActive = true;
    const firstRows = Array.isArray(begin) ? ((begin[1] as { rows: Record<string, unknown>[] } | undefined)?.rows ?? []) : [];
    const ctx: TxContext = {
      manager: qr.manager,
      logger,
      emit: <E extends Topic>(event: OutgoingEvent<E>) => {
        outbox.push(buildRow(serviceName, event, event.traceparent ?? options.parentTrace?.(event.causationId) ?? logContext.getStore()?.traceparent));
      },
      afterCommit: (fn) => {
        after.push(fn);
      },
      trace: (eventId) => options.parentTrace?.(eventId),
    };
    const value = await work(ctx, firstRows);
    const relay = options.relay?.();
    const local = relay?.active === true;
    let finish = 'COMMIT';
    if (outbox.length > 0) {
      const rows = escapeLiteral(JSON.stringify(outbox.map((r) => [r.id, r.topic, r.key, r.envelope, r.headers])));
      finish = `${outboxInsertSql(rows)}; ${local ? '' : `SELECT pg_notify('${OUTBOX_CHANNEL}', current_schema()); `}COMMIT`;
    }
    try {
      await client.query(finish);
    } catch (err) {
      broken = isConnectionError(err);
      throw err;
    }
    open = false;
    if (outbox.length > 0 && local) relay?.kick();
    for (const fn of after) {
      try {
        fn();
      } catch (err) {
        logger.error({ err }, 'afterCommit callback failed');
      }
    }
    return { value, wroteOutbox: outbox.length > 0 };
  } catch (err) {
    if (open && !broken) await client.query('ROLLBACK').catch(() => (broken = true));
    throw err;
  } finally {
    (qr as unknown as { isTransactionActive: boolean }).isTransactionActive = false;
    // a connection in an unknown state is destroyed instead of going back to the pool
    const release = qr as unknown as { releasePostgresConnection(err?: unknown): Promise<void> };
    await release.releasePostgresConnection(broken ? new Error('connection in an unknown state') : undefined).catch(() => undefined);
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === undefined || code.startsWith('08') || code === 'ECONNRESET' || code === 'EPIPE';
}
