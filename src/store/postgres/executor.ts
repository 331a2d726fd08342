/**
 * PostgreSQL's executor: one transaction on one connection, sent in as few round trips as the
 * work allows (see the class below), with every statement prepared once per connection.
 */
import type pg from 'pg';
import { InvariantViolation } from '../../domain/assert.ts';
import {
  type ChangeCheck,
  postgresDialect,
  RememberedAccountOutdated,
  type Row,
  type SqlExecutor,
} from '../sql/dialect.ts';
import { IdempotencyKeyTaken } from '../store.ts';
import { CHANGES_UNEXPECTED, IDEMPOTENCY_KEY_TAKEN, REMEMBERED_ACCOUNT_OUTDATED } from './migrations.ts';

/** Statements prepared per connection at most; past it, new ones are sent with their values written in. */
const PREPARED_STATEMENTS_MAX = 1_000;

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
export class PostgresExecutor implements SqlExecutor {
  /** Statements not yet sent: they lead the next round trip. */
  private unsent: string[];
  /** Whether anything reached the server: a transaction that sent nothing has nothing to end. */
  private started = false;
  private readonly prepared: PreparedStatements;
  /** The ends of the transactions this one follows on its accounts (AccountMemory): nothing is sent before. */
  private barriers: Promise<void>[] = [];
  /** Statements whose PREPARE is still unsent: if it never goes, they are not prepared. */
  private preparing: string[] = [];
  /** Whether a round trip failed: the transaction can only roll back. */
  trip_failed = false;
  /**
   * In a group commit, where the command being run begins among the unsent statements, and
   * whether a savepoint had to be set there (when a trip went while it ran, see `send`).
   */
  private command: { start: number; savepoint: boolean } | undefined;

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
    this.unsent.push(
      this.statement(checkedWrite(text, values.length), [
        ...values,
        check.changes,
        check.failure,
        check.stale ? REMEMBERED_ACCOUNT_OUTDATED : check.taken ? IDEMPOTENCY_KEY_TAKEN : CHANGES_UNEXPECTED,
      ]),
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
    this.barriers.push(barrier);
  }

  /** A command of a group commit starts: what it writes from here on can be taken back alone. */
  beginCommand(): void {
    this.command = { start: this.unsent.length, savepoint: false };
  }

  /**
   * The command ends. A failed one is taken back: its statements are dropped if none was sent
   * yet (the usual case: a command's writes wait for the COMMIT), else rolled back to its savepoint.
   */
  endCommand(succeeded: boolean): void {
    const command = this.command;
    this.command = undefined;
    if (!command) return;
    if (command.savepoint) {
      if (succeeded) this.unsent.push('RELEASE SAVEPOINT command');
      else this.unsent.push('ROLLBACK TO SAVEPOINT command', 'RELEASE SAVEPOINT command');
    } else if (!succeeded) {
      // PREPAREs stay: the names they register must exist on the connection.
      const own = this.unsent.splice(command.start);
      this.unsent.push(...own.filter((statement) => statement.startsWith('PREPARE ')));
    }
  }

  /** What is unsent, then `statements`, as one simple query; every statement's result, in order. */
  private async send(statements: readonly string[]): Promise<pg.QueryResult[]> {
    if (this.barriers.length > 0) {
      const barriers = this.barriers;
      this.barriers = [];
      await Promise.all(barriers);
    }
    // A command of a group that sends while it runs may still fail after: it needs a savepoint
    // (which, set only then, costs the usual warm command nothing).
    if (this.command && !this.command.savepoint) {
      this.unsent.splice(this.command.start, 0, 'SAVEPOINT command');
      this.command.savepoint = true;
    }
    const text = [...this.unsent, ...statements].join(';\n');
    this.unsent = [];
    if (this.command) this.command.start = 0;
    this.started = true;
    this.counters.round_trips++;
    try {
      const results = (await this.client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
      this.preparing = [];
      return Array.isArray(results) ? results : [results];
    } catch (error) {
      this.trip_failed = true;
      const code = (error as { code?: string }).code;
      if (code === CHANGES_UNEXPECTED) throw new InvariantViolation((error as Error).message);
      if (code === REMEMBERED_ACCOUNT_OUTDATED) throw new RememberedAccountOutdated((error as Error).message);
      if (code === IDEMPOTENCY_KEY_TAKEN) throw new IdempotencyKeyTaken((error as Error).message);
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

/**
 * Checked writes by the write they wrap, made once: the statement's text is the key its prepared
 * name is found by, and the same string object each time spares hashing and comparing it anew.
 */
const checked_writes = new Map<string, string>();

/** `text` (a write with `parameters` placeholders) wrapped so the database checks how many rows it changed. */
function checkedWrite(text: string, parameters: number): string {
  let checked = checked_writes.get(text);
  if (checked === undefined) {
    checked = `WITH changed AS (${text} RETURNING 1)
         SELECT ${postgresDialect.expect_changes}(count(*), $${parameters + 1}, $${parameters + 2}, $${parameters + 3}) FROM changed`;
    checked_writes.set(text, checked);
  }
  return checked;
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
