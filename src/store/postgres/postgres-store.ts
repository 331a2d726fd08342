/**
 * The production store: PostgreSQL through `pg`, shared by any number of Tally processes.
 *
 * Commands run at READ COMMITTED and lock the account row first (an UPDATE that bumps its
 * version), so commands on one account are serialised while different accounts proceed in
 * parallel; CHECK constraints refuse a grant below zero as a second line of defence.
 * Serialization failures, deadlocks and unique-key races (two processes executing one idempotency
 * key) roll back and run again, a bounded number of times, never reaching the client: the retry
 * sees the winner's result and answers it as a replay. So does a command that found this
 * process's memory of its account outdated (sql/account-memory.ts), reading afresh.
 */
import pg from 'pg';
import { InvariantViolation } from '../../domain/assert.ts';
import { AccountMemory, RememberedAccountOutdated } from '../sql/account-memory.ts';
import { type ChangeCheck, postgresDialect, type Row, type SqlExecutor } from '../sql/dialect.ts';
import { SqlTransaction } from '../sql/sql-transaction.ts';
import type { Store, StoreTransaction } from '../store.ts';
import { CHANGES_UNEXPECTED, migrations, REMEMBERED_ACCOUNT_OUTDATED } from './migrations.ts';

/** Statements prepared per connection at most; past it, new ones are sent with their values written in. */
const PREPARED_STATEMENTS_MAX = 1_000;
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

/**
 * One transaction on one connection, in as few round trips as the work allows. Nothing is sent
 * until a read needs an answer: BEGIN travels with the first read, writes wait (their checks
 * written into the SQL) and travel with the next read or with the COMMIT. A reserve is then two
 * round trips — BEGIN, the account lock and everything the command reads; its writes and COMMIT —
 * and a settle too (when this process made the reservation, so it knows the account). When the
 * process remembers the account (AccountMemory), the first trip goes: the lock and its check
 * lead the writes, and the command is one round trip.
 *
 * Every statement is prepared once per connection (`PREPARE`, then `EXECUTE` with the values
 * written in as literals): several statements can share a round trip only in the simple
 * protocol, which takes no parameters, and preparing spares the server parsing and planning the
 * same few statements over and over.
 */
class PostgresExecutor implements SqlExecutor {
  /** Statements not yet sent: they lead the next round trip. */
  private unsent: string[];
  /** Whether anything reached the server: a transaction that sent nothing has nothing to end. */
  private started = false;
  private readonly prepared: PreparedStatements;
  /** The end of the transaction this one follows on its account (AccountMemory): nothing is sent before. */
  private barrier: Promise<void> | undefined;
  /** Statements whose PREPARE is still unsent: if it never goes, they are not prepared. */
  private preparing: string[] = [];

  constructor(
    private readonly client: pg.PoolClient,
    begin: string,
    private readonly counters: { round_trips: number },
  ) {
    this.unsent = [begin];
    this.prepared = preparedOn(client);
  }

  async query(text: string, values: unknown[]): Promise<{ rows: Row[]; changes: number }> {
    const result = (await this.send([this.statement(text, values)])).at(-1)!;
    return { rows: result.rows as Row[], changes: result.rowCount ?? 0 };
  }

  /**
   * Several statements in one simple query: one round trip. At READ COMMITTED each statement
   * takes its own snapshot, so reads after a `FOR UPDATE` see what its lock waited for.
   */
  async batch(queries: readonly { text: string; values: unknown[] }[]): Promise<Row[][]> {
    const statements = queries.map((query) => this.statement(query.text, query.values));
    const results = await this.send(statements);
    return results.slice(-queries.length).map((result) => result.rows as Row[]);
  }

  async defer(text: string, values: unknown[], check?: ChangeCheck): Promise<void> {
    if (!check) {
      this.unsent.push(this.statement(text, values));
      return;
    }
    const count = values.length;
    this.unsent.push(
      this.statement(
        `WITH changed AS (${text} RETURNING 1)
         SELECT ${postgresDialect.expect_changes}(count(*), $${count + 1}, $${count + 2}, $${count + 3}) FROM changed`,
        [
          ...values,
          check.changes,
          check.failure,
          check.stale ? REMEMBERED_ACCOUNT_OUTDATED : CHANGES_UNEXPECTED,
        ],
      ),
    );
  }

  async commit(): Promise<void> {
    // Only BEGIN waiting: the transaction never reached the server.
    if (!this.started && this.unsent.length <= 1) return;
    await this.send(['COMMIT']);
  }

  async rollback(): Promise<void> {
    this.unsent = [];
    for (const text of this.preparing) this.prepared.names.delete(text);
    this.preparing = [];
    if (!this.started) return;
    // A failed round trip may have stopped before or after any of its PREPAREs (which a rollback
    // does not undo): start this connection's prepared statements over.
    this.prepared.names.clear();
    await this.client.query('ROLLBACK; DEALLOCATE ALL');
  }

  holdUntil(barrier: Promise<void>): void {
    this.barrier = barrier;
  }

  /** What is unsent, then `statements`, as one simple query; every statement's result, in order. */
  private async send(statements: readonly string[]): Promise<pg.QueryResult[]> {
    if (this.barrier) {
      await this.barrier;
      this.barrier = undefined;
    }
    const text = [...this.unsent, ...statements].join(';\n');
    this.unsent = [];
    this.started = true;
    this.counters.round_trips++;
    try {
      const results = (await this.client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
      this.preparing = [];
      return Array.isArray(results) ? results : [results];
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === CHANGES_UNEXPECTED) throw new InvariantViolation((error as Error).message);
      if (code === REMEMBERED_ACCOUNT_OUTDATED) throw new RememberedAccountOutdated((error as Error).message);
      throw error;
    }
  }

  /** `EXECUTE` of `text` prepared on this connection (the PREPARE goes ahead in the same trip if new). */
  private statement(text: string, values: readonly unknown[]): string {
    let name = this.prepared.names.get(text);
    if (name === undefined) {
      if (this.prepared.names.size >= PREPARED_STATEMENTS_MAX) return this.inline(text, values);
      name = `tally_${++this.prepared.count}`;
      this.prepared.names.set(text, name);
      this.preparing.push(text);
      this.unsent.push(`PREPARE ${name} AS ${text}`);
    }
    if (values.length === 0) return `EXECUTE ${name}`;
    return `EXECUTE ${name}(${values.map((value) => literal(value, this.client)).join(', ')})`;
  }

  /** `text` with its values written in, for a statement not prepared. Its only `$` must be its placeholders. */
  private inline(text: string, values: readonly unknown[]): string {
    return text.replace(/\$(\d+)/g, (_match, index: string) =>
      literal(values[Number(index) - 1], this.client),
    );
  }
}

/** A connection's prepared statements (they live as long as it): text → name, and names handed out. */
interface PreparedStatements {
  names: Map<string, string>;
  count: number;
}
const prepared_by_connection = new WeakMap<pg.PoolClient, PreparedStatements>();

function preparedOn(client: pg.PoolClient): PreparedStatements {
  let prepared = prepared_by_connection.get(client);
  if (!prepared) {
    prepared = { names: new Map(), count: 0 };
    prepared_by_connection.set(client, prepared);
  }
  return prepared;
}

function literal(value: unknown, client: pg.PoolClient): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return client.escapeLiteral(value);
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) {
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  throw new Error(`a statement sent as text takes text, integers and booleans, not ${typeof value}`);
}

function isRetryable(error: unknown): boolean {
  if (error instanceof RememberedAccountOutdated) return true;
  return (
    typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '')
  );
}

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  /** Round trips of transactions so far (ROLLBACK not counted): what the hot path is measured in. */
  round_trips = 0;
  /** This process's memory of the accounts it worked on: a warm reserve or settle is one round trip. */
  private readonly memory = new AccountMemory();

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
    return this.run('BEGIN', work, this.memory);
  }

  read<Result>(work: (transaction: StoreTransaction) => Promise<Result>): Promise<Result> {
    // One snapshot for every statement of the read.
    return this.run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', work);
  }

  private async run<Result>(
    begin: string,
    work: (transaction: StoreTransaction) => Promise<Result>,
    memory?: AccountMemory,
  ): Promise<Result> {
    let recall = true;
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const executor = new PostgresExecutor(client, begin, this);
      const transaction = new SqlTransaction(executor, postgresDialect, memory, recall);
      let committed = false;
      let broken: Error | undefined;
      // A connection lost while checked out reports here (its query fails too); unheard, it would end the process.
      const lost = (error: Error) => {
        broken = error;
      };
      client.on('error', lost);
      try {
        const result = await work(transaction);
        transaction.committing();
        await executor.commit();
        committed = true;
        return result;
      } catch (error) {
        // A connection that cannot even roll back is not given to the next transaction.
        await executor.rollback().catch((failure: Error) => {
          broken = failure;
        });
        // A refusal drawn from memory is only answered once fresh reads draw it too.
        const from_memory = transaction.recalled && recall;
        if ((!isRetryable(error) && !from_memory) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw error;
        if (error instanceof RememberedAccountOutdated || from_memory) recall = false;
      } finally {
        transaction.finish(committed);
        client.off('error', lost);
        client.release(broken);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
