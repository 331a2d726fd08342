/**
 * The production store: PostgreSQL through `pg`, shared by any number of Tally processes.
 *
 * Commands run at READ COMMITTED and lock the account row first (`SELECT … FOR UPDATE`), so
 * commands on one account are serialised while different accounts proceed in parallel; CHECK
 * constraints refuse a grant below zero as a second line of defence. Serialization failures,
 * deadlocks and unique-key races (two processes executing one idempotency key) roll back and run
 * again, a bounded number of times, never reaching the client: the retry sees the winner's
 * result and answers it as a replay.
 */
import pg from 'pg';
import { postgresDialect, type Row, type SqlExecutor } from '../sql/dialect.ts';
import { SqlTransaction } from '../sql/sql-transaction.ts';
import type { Store, StoreTransaction } from '../store.ts';
import { migrations } from './migrations.ts';

/** How often a transaction is run again after a conflict it could not see coming. */
export const TRANSACTION_ATTEMPTS_MAX = 8;
const RETRYABLE = new Set(['40001', '40P01', '23505']);
/** Any constant: the lock migrations take so that starting processes migrate one at a time. */
const MIGRATION_LOCK = 7_411_001;
const INT8_OID = 20;

export interface PostgresStoreOptions {
  url: string;
  /** Connections in the pool. */
  pool_size?: number;
}

class PostgresExecutor implements SqlExecutor {
  constructor(private readonly client: pg.PoolClient) {}

  async query(text: string, values: unknown[]): Promise<{ rows: Row[]; changes: number }> {
    const result = await this.client.query({ text, values });
    return { rows: result.rows as Row[], changes: result.rowCount ?? 0 };
  }

  /**
   * Several statements in one simple query: one round trip. The simple protocol takes no
   * parameters, so values are written in as literals (escaped by the driver). At READ COMMITTED
   * each statement takes its own snapshot, so reads after a `FOR UPDATE` see what its lock waited for.
   * A batched query's only `$` must be its placeholders.
   */
  async batch(queries: readonly { text: string; values: unknown[] }[]): Promise<Row[][]> {
    if (queries.length === 1) return [(await this.query(queries[0]!.text, queries[0]!.values)).rows];
    const text = queries
      .map((query) =>
        query.text.replace(/\$(\d+)/g, (_match, index: string) =>
          this.literal(query.values[Number(index) - 1]),
        ),
      )
      .join(';\n');
    const results = (await this.client.query(text)) as unknown as pg.QueryResult[];
    return results.map((result) => result.rows as Row[]);
  }

  private literal(value: unknown): string {
    if (value === null || value === undefined) return 'NULL';
    if (typeof value === 'string') return this.client.escapeLiteral(value);
    if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) {
      return String(value);
    }
    if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
    throw new Error(`a batched query takes text, integers and booleans, not ${typeof value}`);
  }
}

function isRetryable(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '')
  );
}

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;

  private constructor(options: PostgresStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.pool_size ?? 8,
      // Micro-credits and milliseconds are BIGINT: read them as bigint, never as float-prone numbers.
      types: {
        getTypeParser: ((oid: number, format: 'text' | 'binary') =>
          oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format)) as never,
      },
    });
    // An idle connection the server drops (a restart, a failover) reports here; unhandled, it would end
    // the process. The pool discards that connection and opens another when next needed.
    this.pool.on('error', (error) => console.error(`PostgreSQL connection lost: ${error.message}`));
  }

  /** Connects and brings the schema up to date (one process at a time). */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    const client = await store.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS tally_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const applied = Number(
        (await client.query('SELECT count(*) AS count FROM tally_migrations')).rows[0].count,
      );
      for (let index = applied; index < migrations.length; index++) {
        await client.query('BEGIN');
        await client.query(migrations[index]!);
        await client.query('INSERT INTO tally_migrations (version) VALUES ($1)', [index + 1]);
        await client.query('COMMIT');
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      client.release();
    }
    return store;
  }

  transaction<Result>(work: (transaction: StoreTransaction) => Promise<Result>): Promise<Result> {
    return this.run('BEGIN', work);
  }

  read<Result>(work: (transaction: StoreTransaction) => Promise<Result>): Promise<Result> {
    // One snapshot for every statement of the read.
    return this.run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', work);
  }

  private async run<Result>(
    begin: string,
    work: (transaction: StoreTransaction) => Promise<Result>,
  ): Promise<Result> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query(begin);
        const result = await work(new SqlTransaction(new PostgresExecutor(client), postgresDialect));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (!isRetryable(error) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw error;
      } finally {
        client.release();
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
