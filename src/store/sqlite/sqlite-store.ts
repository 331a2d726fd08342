/**
 * The embedded store: better-sqlite3 on one file in WAL mode, durable by default
 * (`synchronous=FULL`: an acknowledged command survives a power cut).
 *
 * SQLite has one writer, so write transactions are queued in this process and run one at a
 * time (`BEGIN IMMEDIATE` also serialises writers across processes). Reads use a second
 * connection and see a consistent snapshot without waiting for writers.
 */
import Database from 'better-sqlite3';
import type { Row, SqlExecutor } from '../sql/dialect.ts';
import { sqliteDialect } from '../sql/dialect.ts';
import { SqlTransaction } from '../sql/sql-transaction.ts';
import type { Store, StoreTransaction } from '../store.ts';
import { migrations } from './migrations.ts';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for a private in-memory database. */
  filename: string;
  /** `FULL` (default) makes every commit durable; `NORMAL` may lose the last commits on power loss. */
  synchronous?: 'FULL' | 'NORMAL';
}

function openConnection(filename: string, synchronous: string): Database.Database {
  const connection = new Database(filename);
  connection.defaultSafeIntegers(true);
  connection.pragma('journal_mode = WAL');
  connection.pragma(`synchronous = ${synchronous}`);
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  return connection;
}

function migrate(connection: Database.Database): void {
  const applied = Number(connection.pragma('user_version', { simple: true }));
  for (let index = applied; index < migrations.length; index++) {
    connection.transaction(() => {
      connection.exec(migrations[index]!);
      connection.pragma(`user_version = ${index + 1}`);
    })();
  }
}

/** Runs queries on one connection, each statement prepared once. */
class SqliteExecutor implements SqlExecutor {
  private readonly cache = new Map<string, Database.Statement>();
  constructor(private readonly connection: Database.Database) {}
  private get(sql: string): Database.Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.connection.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }

  async query(text: string, values: unknown[]): Promise<{ rows: Row[]; changes: number }> {
    const statement = this.get(text);
    if (statement.reader) return { rows: statement.all(...values) as Row[], changes: 0 };
    return { rows: [], changes: statement.run(...values).changes };
  }
}

/** Runs async work strictly one at a time, in arrival order. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  run<Result>(work: () => Promise<Result>): Promise<Result> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private readonly writer_executor: SqliteExecutor;
  private readonly reader_executor: SqliteExecutor;
  private readonly write_queue = new Queue();
  private readonly read_queue: Queue;

  constructor(options: SqliteStoreOptions) {
    const synchronous = options.synchronous ?? 'FULL';
    this.writer = openConnection(options.filename, synchronous);
    migrate(this.writer);
    // An in-memory database is private to its connection, so reads share the writer (and its queue).
    const in_memory = options.filename === ':memory:' || options.filename === '';
    this.reader = in_memory ? this.writer : openConnection(options.filename, synchronous);
    this.writer_executor = new SqliteExecutor(this.writer);
    this.reader_executor = in_memory ? this.writer_executor : new SqliteExecutor(this.reader);
    this.read_queue = in_memory ? this.write_queue : new Queue();
  }

  /** The underlying connection, for tools (verify's tests, benchmarks) that need raw SQL. */
  get connection(): Database.Database {
    return this.writer;
  }

  transaction<Result>(work: (transaction: StoreTransaction) => Promise<Result>): Promise<Result> {
    return this.write_queue.run(() =>
      this.inTransaction(this.writer, 'BEGIN IMMEDIATE', this.writer_executor, work),
    );
  }

  read<Result>(work: (transaction: StoreTransaction) => Promise<Result>): Promise<Result> {
    return this.read_queue.run(() => this.inTransaction(this.reader, 'BEGIN', this.reader_executor, work));
  }

  private async inTransaction<Result>(
    connection: Database.Database,
    begin: string,
    executor: SqliteExecutor,
    work: (transaction: StoreTransaction) => Promise<Result>,
  ): Promise<Result> {
    connection.exec(begin);
    try {
      const result = await work(new SqlTransaction(executor, sqliteDialect));
      connection.exec('COMMIT');
      return result;
    } catch (error) {
      if (connection.inTransaction) connection.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.write_queue.run(async () => {
      if (this.reader !== this.writer) this.reader.close();
      this.writer.close();
    });
  }
}
