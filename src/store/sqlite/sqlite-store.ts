/**
 * The embedded store: better-sqlite3 on one file in WAL mode, durable by default (`FULL`: an
 * acknowledged command survives a power cut).
 *
 * Durable, SQLite syncs the WAL inside each group's COMMIT (`synchronous=FULL`), on the event
 * loop. The store can instead commit under `synchronous=NORMAL` and answer a group's callers once
 * an `fdatasync` of the WAL, run on libuv's thread pool, has finished after that COMMIT
 * (`fsync: 'off-loop'`): the loop is free during the sync, and a power cut still loses only what
 * was never acknowledged (a frame the disk lost fails its checksum on recovery; checkpoints sync
 * the WAL and the database themselves under NORMAL). Measured on E1 (bench/README.md, issue 23),
 * the sync off the loop cost about a fifth of the throughput on two vCPUs, so it is not the default.
 *
 * SQLite has one writer, so write transactions are queued in this process and run one at a
 * time (`BEGIN IMMEDIATE` also serialises writers across processes). Reads use a second
 * connection and see a consistent snapshot without waiting for writers.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { assert } from '../../domain/assert.ts';
import { GROUP_COMMIT_MAX } from '../../domain/limits.ts';
import { nextEventLoopTurn, type PendingCommand } from '../group-commit.ts';
import { AccountMemory } from '../sql/account-memory.ts';
import type { ChangeCheck, Row, SqlExecutor } from '../sql/dialect.ts';
import { RememberedAccountOutdated, sqliteDialect } from '../sql/dialect.ts';
import { SqlTransaction } from '../sql/sql-transaction.ts';
import { IdempotencyKeyTaken, type Store, type StoreTransaction } from '../store.ts';
import { migrations } from './migrations.ts';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for a private in-memory database. */
  filename: string;
  /** `FULL` (default) makes every acknowledged command durable; `NORMAL` may lose the last ones on power loss. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * Where `FULL` waits for the disk: `in-commit` (default) lets SQLite sync inside the COMMIT,
   * holding the event loop; `off-loop` syncs the WAL on the thread pool after each group's COMMIT.
   * Both answer a caller only once its command is on disk; the bench measures one against the other.
   */
  fsync?: 'off-loop' | 'in-commit';
}

function openConnection(filename: string, synchronous: string): Database.Database {
  const connection = new Database(filename);
  connection.defaultSafeIntegers(true);
  connection.pragma('journal_mode = WAL');
  connection.pragma(`synchronous = ${synchronous}`);
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  // A group run again with savepoints (applyGroup) keeps their undo journal (the page images it may
  // need to roll back) in memory, not in a temporary file: measured when every command had a
  // savepoint, E1 ran about 25 % faster with it in memory.
  connection.pragma('temp_store = MEMORY');
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
  /**
   * Statements run so far that may write (counted before they run: one that fails may have written
   * part of its change). A command that fails having written none left the database as it found it.
   */
  writes = 0;
  constructor(private readonly connection: Database.Database) {}
  private get(sql: string): Database.Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.connection.prepare(sql);
      this.cache.set(sql, statement);
    }
    if (!statement.readonly) this.writes++;
    return statement;
  }

  async query(text: string, values: unknown[]): Promise<{ rows: Row[]; changes: number }> {
    const statement = this.get(text);
    if (statement.reader) return { rows: statement.all(...values) as Row[], changes: 0 };
    return { rows: [], changes: statement.run(...values).changes };
  }

  async batch(queries: readonly { text: string; values: unknown[] }[]): Promise<Row[][]> {
    return queries.map(({ text, values }) => this.get(text).all(...values) as Row[]);
  }

  /** In process, a statement costs microseconds and no round trip: it runs now. */
  async defer(text: string, values: unknown[], check?: ChangeCheck): Promise<void> {
    const { changes } = this.get(text).run(...values);
    if (check?.stale && changes !== check.changes) throw new RememberedAccountOutdated(check.failure);
    if (check?.taken && changes !== check.changes) throw new IdempotencyKeyTaken(check.failure);
    if (check) assert(changes === check.changes, check.failure);
  }
}

/** Transaction control, prepared once: `exec` would parse these again for every command. */
class TransactionControl {
  readonly begin: Database.Statement;
  readonly savepoint: Database.Statement;
  readonly release: Database.Statement;
  readonly rollback_to: Database.Statement;
  readonly commit: Database.Statement;
  readonly rollback: Database.Statement;
  /** Changes when another connection (another process, the reader never) has committed. */
  readonly data_version: Database.Statement;
  constructor(connection: Database.Database) {
    this.data_version = connection.prepare('PRAGMA data_version').pluck();
    this.begin = connection.prepare('BEGIN IMMEDIATE');
    this.savepoint = connection.prepare('SAVEPOINT command');
    this.release = connection.prepare('RELEASE command');
    this.rollback_to = connection.prepare('ROLLBACK TO command');
    this.commit = connection.prepare('COMMIT');
    this.rollback = connection.prepare('ROLLBACK');
  }
}

type CommandOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

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
  private readonly control: TransactionControl;
  private readonly write_queue = new Queue();
  private readonly pending: PendingCommand[] = [];
  private flushing = false;
  /** Transactions committed so far; with group commit, fewer than the commands applied. */
  groups_committed = 0;
  /** Groups run a second time, with savepoints, because a command failed after it wrote (applyGroup). */
  groups_rerun = 0;
  /** Each write runs at once: a key is looked up first, which costs no round trip in process. */
  readonly writes_wait_for_commit = false;
  private readonly read_queue: Queue;
  /**
   * The accounts this process worked on, as the database holds them (sql/account-memory.ts,
   * OWNED): a command on one reads nothing of it. Whenever another connection has committed
   * since this one's last transaction, it starts over.
   */
  private readonly memory = new AccountMemory(true);
  private data_version: bigint | undefined;
  /** The WAL file, synced after each group's COMMIT when the sync is off the loop. */
  private readonly wal: number | undefined;
  /** Settles when the last group's sync has: each group is answered after the one before it. */
  private synced: Promise<void> = Promise.resolve();
  /** A sync that failed: nothing written since can be promised durable, so the store takes no more writes. */
  private sync_failure: Error | undefined;

  constructor(options: SqliteStoreOptions) {
    // An in-memory database is private to its connection, so reads share the writer (and its queue).
    const in_memory = options.filename === ':memory:' || options.filename === '';
    const durable = (options.synchronous ?? 'FULL') === 'FULL';
    const off_loop = durable && !in_memory && options.fsync === 'off-loop';
    const synchronous = durable && !off_loop ? 'FULL' : 'NORMAL';
    this.writer = openConnection(options.filename, synchronous);
    migrate(this.writer);
    if (off_loop) this.wal = openSync(`${this.writer.name}-wal`, 'r');
    this.reader = in_memory ? this.writer : openConnection(options.filename, synchronous);
    this.writer_executor = new SqliteExecutor(this.writer);
    this.control = new TransactionControl(this.writer);
    this.reader_executor = in_memory ? this.writer_executor : new SqliteExecutor(this.reader);
    this.read_queue = in_memory ? this.write_queue : new Queue();
  }

  /**
   * The underlying connection, for tools (verify's tests, benchmarks) that need raw SQL. What they
   * write is this connection's own, unseen by `data_version`: the memory starts over.
   */
  get connection(): Database.Database {
    this.memory.clear();
    return this.writer;
  }

  /**
   * Group commit: commands that arrive while a group is being applied wait, and are then applied
   * together in one transaction — one fsync for all of them — and a command that fails is taken
   * back alone, so it cannot fail its neighbours (applyGroup). Every caller is answered only after
   * the group's COMMIT: an acknowledged command is durable.
   */
  transaction<Result>(work: (transaction: StoreTransaction) => Promise<Result>): Promise<Result> {
    if (this.sync_failure) return Promise.reject(this.sync_failure);
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ work, resolve, reject } as PendingCommand);
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        // One turn of the event loop first: requests already read from sockets (and callers just
        // answered by the previous group) get to join this group instead of each paying an fsync.
        await new Promise((resume) => nextEventLoopTurn(resume));
        const group = this.pending.splice(0, GROUP_COMMIT_MAX);
        await this.write_queue.run(() => this.commitGroup(group));
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commitGroup(group: PendingCommand[]): Promise<void> {
    let outcomes: CommandOutcome[];
    try {
      const applied = (await this.applyGroup(group, false)) ?? (await this.applyGroup(group, true));
      assert(applied !== undefined, 'a group run with savepoints always commits');
      outcomes = applied;
      this.groups_committed++;
    } catch (error) {
      // The group did not commit: nothing of it happened, and every caller hears so.
      if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
      this.memory.clear();
      for (const command of group) command.reject(error);
      return;
    }
    const answer = () =>
      group.forEach((command, index) => {
        const outcome = outcomes[index]!;
        if (outcome.ok) command.resolve(outcome.value);
        else command.reject(outcome.error);
      });
    if (this.wal === undefined) return answer();
    const wal = this.wal;
    const synced = new Promise<void>((resolve, reject) =>
      fdatasync(wal, (error) => (error ? reject(error) : resolve())),
    );
    const refuse = (failure: Error) => {
      for (const command of group) command.reject(failure);
    };
    // After a failed sync, a later one that succeeds proves nothing of what the failed one held.
    this.synced = Promise.all([this.synced, synced]).then(
      () => (this.sync_failure ? refuse(this.sync_failure) : answer()),
      (error: Error) => {
        this.sync_failure ??= new Error(`the database could not be synced to disk: ${error.message}`);
        refuse(this.sync_failure);
      },
    );
  }

  /**
   * Runs a group's commands in one transaction and commits it. A command that fails must be taken
   * back alone: with `savepoints`, each command runs in its own and a failed one is rolled back to
   * it. Without (the first try: a savepoint copies every page its command changes, about a tenth
   * of E1's time), a command that fails having written nothing needs no undo; one that fails after
   * writing rolls the whole transaction back, and the answer is `undefined` — the group is then run
   * again with savepoints (rule 1 of sql/account-memory.ts: a command's work may run more than once).
   */
  private async applyGroup(
    group: readonly PendingCommand[],
    savepoints: boolean,
  ): Promise<CommandOutcome[] | undefined> {
    const outcomes: CommandOutcome[] = [];
    this.control.begin.run();
    // Under the write lock now: if anyone else committed since, what the memory holds may be old.
    const data_version = this.control.data_version.get() as bigint;
    if (data_version !== this.data_version) this.memory.clear();
    this.data_version = data_version;
    for (const command of group) {
      if (savepoints) this.control.savepoint.run();
      const writes_before = this.writer_executor.writes;
      const transaction = new SqlTransaction(this.writer_executor, sqliteDialect, this.memory);
      try {
        outcomes.push({ ok: true, value: await command.work(transaction) });
        if (savepoints) this.control.release.run();
        // The next command of the group starts from what this one left.
        transaction.committing();
      } catch (error) {
        transaction.finish(false);
        if (savepoints) {
          this.control.rollback_to.run();
          this.control.release.run();
        } else if (this.writer_executor.writes !== writes_before) {
          this.control.rollback.run();
          this.memory.clear();
          this.groups_rerun++;
          return undefined;
        }
        outcomes.push({ ok: false, error });
      }
    }
    this.control.commit.run();
    return outcomes;
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
      await this.synced;
      if (this.wal !== undefined) closeSync(this.wal);
      if (this.reader !== this.writer) this.reader.close();
      this.writer.close();
    });
  }
}
