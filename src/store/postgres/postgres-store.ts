/**
 * The production store: PostgreSQL through `pg`, shared by any number of Tally processes.
 *
 * Commands run at READ COMMITTED and lock the account row first (an UPDATE that bumps its
 * version), so commands on one account are serialised while different accounts proceed in
 * parallel; CHECK constraints refuse a grant below zero as a second line of defence.
 * Commands that arrive together are applied in one transaction (group commit, `transaction`).
 * Serialization failures, deadlocks and unique-key races (two processes executing one idempotency
 * key) roll back and run again, a bounded number of times, never reaching the client: the retry
 * sees the winner's result and answers it as a replay. So does a command that found this
 * process's memory of its account outdated (sql/account-memory.ts), reading afresh.
 */
import pg from 'pg';
import { nextEventLoopTurn, type PendingCommand } from '../group-commit.ts';
import {
  AccountMemory,
  AccountTurnTaken,
  type CommandGroup,
  RememberedAccountOutdated,
} from '../sql/account-memory.ts';
import { postgresDialect } from '../sql/dialect.ts';
import { SqlTransaction } from '../sql/sql-transaction.ts';
import type { CommandHint, Store, StoreTransaction } from '../store.ts';
import { PostgresExecutor } from './executor.ts';
import { migrations } from './migrations.ts';

/**
 * Commands one group commit applies in a single transaction at most. A command that reads while
 * it runs gets a savepoint, and past 64 subtransactions PostgreSQL stops caching them per backend,
 * which slows every other session's snapshots: a group stays well under that.
 */
export const POSTGRES_GROUP_COMMIT_MAX = 32;
/** Among how many groups the commands on different accounts pending at once are shared (groupsOf)... */
const GROUPS_PER_DISPATCH = 4;
/** ...each of at least this many commands: a round trip per command or two is what grouping saves. */
const POSTGRES_GROUP_SPREAD_MIN = 8;

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

function isRetryable(error: unknown): boolean {
  if (error instanceof RememberedAccountOutdated) return true;
  return (
    typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '')
  );
}

/**
 * Shares commands pending at once among groups. Commands on one account go together (they would
 * take turns anyway, and in one transaction they cost one round trip); the others are spread
 * over a few groups, so the process computes one while the server executes another's.
 */
function groupsOf(commands: PendingCommand[]): PendingCommand[][] {
  const size = Math.max(
    POSTGRES_GROUP_SPREAD_MIN,
    Math.min(POSTGRES_GROUP_COMMIT_MAX, Math.ceil(commands.length / GROUPS_PER_DISPATCH)),
  );
  // A command without an account is a bucket of its own.
  const buckets = new Map<unknown, PendingCommand[]>();
  for (const command of commands) {
    const key = command.account ?? command;
    const same = buckets.get(key);
    if (same) same.push(command);
    else buckets.set(key, [command]);
  }
  const groups: PendingCommand[][] = [];
  let mixed: PendingCommand[] = [];
  for (const same of buckets.values()) {
    if (same.length >= size) {
      while (same.length > 0) groups.push(same.splice(0, POSTGRES_GROUP_COMMIT_MAX));
      continue;
    }
    if (mixed.length + same.length > POSTGRES_GROUP_COMMIT_MAX) {
      groups.push(mixed);
      mixed = [];
    }
    mixed.push(...same);
    if (mixed.length >= size) {
      groups.push(mixed);
      mixed = [];
    }
  }
  if (mixed.length > 0) groups.push(mixed);
  return groups;
}

/** How a command of a group commit came out, delivered once the group's transaction has ended. */
type GroupOutcome =
  | { kind: 'done'; value: unknown }
  | { kind: 'refused'; error: unknown }
  /** Runs again on its own: its group did not commit, or it was refused from memory. */
  | { kind: 'alone' }
  /** Joins a later group once another transaction's turn on its account is over. */
  | { kind: 'after'; over: Promise<void> };

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly pool_size: number;
  private readonly pending: PendingCommand[] = [];
  private groups_running = 0;
  /** Commands waiting for a turn to be over (AccountTurnTaken), by the turn. */
  private readonly followers = new Map<Promise<void>, PendingCommand[]>();
  private dispatch_scheduled = false;
  /** Transactions committed so far for groups of commands. */
  groups_committed = 0;
  readonly writes_wait_for_commit = true;
  /** Round trips of transactions so far (ROLLBACK not counted): what the hot path is measured in. */
  round_trips = 0;
  /** This process's memory of the accounts it worked on: a warm reserve or settle is one round trip. */
  private readonly memory = new AccountMemory();

  private constructor(options: PostgresStoreOptions) {
    this.pool_size = options.pool_size ?? 8;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: this.pool_size,
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

  /**
   * Group commit: commands that arrive together are applied in one transaction, one round trip
   * for all of them when the process remembers their accounts, and each caller is answered only
   * after its COMMIT. A command refused by the domain is taken back alone (its writes dropped, or
   * rolled back to its savepoint) and cannot fail its neighbours; if the transaction itself
   * fails, every command of the group runs again on its own.
   */
  transaction<Result>(
    work: (transaction: StoreTransaction) => Promise<Result>,
    hint?: CommandHint,
  ): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ work, account: hint?.account, resolve, reject } as PendingCommand);
      this.scheduleDispatch();
    });
  }

  /** After one event-loop turn, so that commands arriving together join a group. */
  private scheduleDispatch(): void {
    if (this.dispatch_scheduled) return;
    this.dispatch_scheduled = true;
    nextEventLoopTurn(() => {
      this.dispatch_scheduled = false;
      const groups = groupsOf(this.pending.splice(0));
      while (groups.length > 0 && this.groups_running < this.pool_size) this.startGroup(groups.shift()!);
      this.pending.unshift(...groups.flat());
    });
  }

  private startGroup(commands: PendingCommand[]): void {
    this.groups_running++;
    void this.commitGroup(commands).finally(() => {
      this.groups_running--;
      if (this.pending.length > 0) this.scheduleDispatch();
    });
  }

  /**
   * A command whose account another transaction has: it waits with the others that met the same
   * turn, and when the turn is over they go together as one group (a hot account's commands
   * then share a transaction instead of taking turns one by one).
   */
  private afterTurn(command: PendingCommand, over: Promise<void>): void {
    let followers = this.followers.get(over);
    if (!followers) {
      const waiting: PendingCommand[] = [];
      followers = waiting;
      this.followers.set(over, waiting);
      void over.then(() => {
        this.followers.delete(over);
        while (waiting.length > 0) this.startGroup(waiting.splice(0, POSTGRES_GROUP_COMMIT_MAX));
      });
    }
    followers.push(command);
  }

  private async commitGroup(commands: PendingCommand[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch {
      // Alone, each command meets the failure itself (and answers it).
      for (const command of commands) this.runAlone(command);
      return;
    }
    let broken: Error | undefined;
    const lost = (error: Error) => {
      broken = error;
    };
    client.on('error', lost);
    let end_turns!: () => void;
    let settle!: () => void;
    const group: CommandGroup = {
      turns_over: new Promise((resolve) => {
        end_turns = resolve;
      }),
      settled: new Promise((resolve) => {
        settle = resolve;
      }),
    };
    const executor = new PostgresExecutor(client, 'BEGIN', this);
    const transactions: SqlTransaction[] = [];
    const outcomes: GroupOutcome[] = [];
    for (const command of commands) {
      if (executor.trip_failed) {
        outcomes.push({ kind: 'alone' });
        continue;
      }
      const transaction = new SqlTransaction(executor, postgresDialect, this.memory, true, group);
      executor.beginCommand();
      try {
        const value = await command.work(transaction);
        executor.endCommand(true);
        transaction.committing();
        transactions.push(transaction);
        outcomes.push({ kind: 'done', value });
      } catch (error) {
        executor.endCommand(false);
        transaction.finish(false);
        if (error instanceof AccountTurnTaken) outcomes.push({ kind: 'after', over: error.over });
        // A failed trip fails the transaction; a refusal drawn from memory needs fresh reads.
        else if (executor.trip_failed || transaction.recalled) outcomes.push({ kind: 'alone' });
        else outcomes.push({ kind: 'refused', error });
      }
    }
    let committed = false;
    if (!executor.trip_failed) {
      end_turns();
      try {
        await executor.commit();
        committed = true;
        this.groups_committed++;
      } catch {
        // Every command runs again on its own, and meets (and answers) the failure there.
      }
    }
    if (!committed) {
      await executor.rollback().catch((failure: Error) => {
        broken = failure;
      });
    }
    for (const transaction of transactions) transaction.finish(committed);
    settle();
    end_turns();
    client.off('error', lost);
    client.release(broken);
    commands.forEach((command, index) => {
      const outcome = outcomes[index]!;
      if (outcome.kind === 'after') this.afterTurn(command, outcome.over);
      else if (!committed || outcome.kind === 'alone') this.runAlone(command);
      else if (outcome.kind === 'done') command.resolve(outcome.value);
      else command.reject(outcome.error);
    });
  }

  private runAlone(command: PendingCommand): void {
    this.run('BEGIN', command.work, this.memory).then(command.resolve, command.reject);
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
