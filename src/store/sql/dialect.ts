/**
 * What differs between the SQL databases Tally runs on, as data (STYLE rule 9, after Kysely):
 * how parameters are written, how a JSON field is read, whether rows can be locked, and the
 * error codes that mean "try the transaction again".
 */
export interface SqlDialect {
  name: 'sqlite' | 'postgres';
  /** The n-th (from 1) parameter placeholder. */
  placeholder(index: number): string;
  /** A text value at `key` of a JSON object stored as text in `column`. */
  jsonText(column: string, key: string): string;
  /** `FOR UPDATE` where the database locks rows (SQLite serialises every writer instead). */
  lock_rows: string;
  /** Locks rows no other transaction holds and skips the rest, so workers claim disjoint jobs. */
  skip_locked: string;
  /** Whether INSERT/UPDATE may run inside WITH, so dependent writes go in one statement (one round trip). */
  writes_in_with: boolean;
  /**
   * A SQL function `(count, expected, failure[, sqlstate])` that raises when a write changed
   * another number of rows than expected (by default as a bug), so a deferred write is checked in the database
   * (PostgreSQL's is a migration's).
   */
  expect_changes: string | null;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  placeholder: () => '?',
  jsonText: (column, key) => `json_extract(${column}, '$.${key}')`,
  lock_rows: '',
  skip_locked: '',
  writes_in_with: false,
  expect_changes: null,
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  placeholder: (index) => `$${index}`,
  jsonText: (column, key) => `(${column}::jsonb ->> '${key}')`,
  lock_rows: ' FOR UPDATE',
  skip_locked: ' FOR UPDATE SKIP LOCKED',
  writes_in_with: true,
  expect_changes: 'tally_expect_changes',
};

export type SqlParameters = readonly unknown[] | Readonly<Record<string, unknown>>;

/** A query written for one dialect: its text, and where each value comes from. */
interface CompiledQuery {
  text: string;
  /** The named parameters in order, or the count of positional ones. */
  names: readonly string[] | number;
}

/** Compiled once per dialect and SQL text: the hot path runs the same few queries over and over. */
const compiled = new WeakMap<SqlDialect, Map<string, CompiledQuery>>();

function compile(dialect: SqlDialect, sql: string, named: boolean): CompiledQuery {
  let queries = compiled.get(dialect);
  if (!queries) {
    queries = new Map();
    compiled.set(dialect, queries);
  }
  let query = queries.get(sql);
  if (!query) {
    let count = 0;
    const names: string[] = [];
    const text = named
      ? sql.replace(/@(\w+)/g, (_match, name: string) => {
          names.push(name);
          return dialect.placeholder(names.length);
        })
      : sql.replace(/\?/g, () => dialect.placeholder(++count));
    query = { text, names: named ? names : count };
    queries.set(sql, query);
  }
  return query;
}

/**
 * Writes a query for a dialect: `?` takes the next positional parameter, `@name` the named one.
 * A named parameter missing from the object, or a wrong count of positional ones, is a bug and throws.
 */
export function bind(
  dialect: SqlDialect,
  sql: string,
  parameters: SqlParameters,
): { text: string; values: unknown[] } {
  if (Array.isArray(parameters)) {
    const { text, names } = compile(dialect, sql, false);
    if (names !== parameters.length)
      throw new Error(`query takes ${String(names)} parameters, got ${parameters.length}`);
    return { text, values: parameters as unknown[] };
  }
  const named = parameters as Record<string, unknown>;
  const { text, names } = compile(dialect, sql, true);
  const values = (names as readonly string[]).map((name) => {
    if (!(name in named)) throw new Error(`query parameter @${name} is missing`);
    return named[name];
  });
  return { text, values };
}

export type Row = Record<string, unknown>;

/** The one thing a store adapter supplies: run a query and return its rows and how many rows it changed. */
export interface SqlExecutor {
  query(text: string, values: unknown[]): Promise<{ rows: Row[]; changes: number }>;
  /**
   * Runs reads one after another and returns each one's rows. Where the driver allows, they
   * travel together (one round trip); each still sees what was committed before it started.
   */
  batch(queries: readonly { text: string; values: unknown[] }[]): Promise<Row[][]>;
  /**
   * A write whose answer the command does not wait for. Where the driver allows, it travels with
   * the transaction's next round trip — at the latest with its COMMIT — and `check` is verified
   * in the database, failing the whole transaction; elsewhere it runs at once and is checked here.
   * Either way a failed check means the transaction does not commit.
   */
  defer(text: string, values: unknown[], check?: ChangeCheck): Promise<void>;
  /** Sends nothing before `barrier` settles (where a transaction may start before the one it follows ends). */
  holdUntil?(barrier: Promise<void>): void;
}

/** A command read a remembered account another process had moved on from; its transaction runs again. */
export class RememberedAccountOutdated extends Error {
  constructor(message: string) {
    super(`remembered account outdated: ${message}`);
    this.name = 'RememberedAccountOutdated';
  }
}

/** How many rows a write must change, and what it means when it does not. */
export interface ChangeCheck {
  changes: number;
  failure: string;
  /**
   * Set: the command worked from a remembered copy that turned out old; the transaction is run
   * again from fresh reads (RememberedAccountOutdated). Unset: a bug (InvariantViolation).
   */
  stale?: true;
  /**
   * Set: the write claims an idempotency key, and another command under that key committed
   * first; the command is answered from that one's record instead (IdempotencyKeyTaken).
   */
  taken?: true;
}
