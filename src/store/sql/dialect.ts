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
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  placeholder: () => '?',
  jsonText: (column, key) => `json_extract(${column}, '$.${key}')`,
  lock_rows: '',
  skip_locked: '',
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  placeholder: (index) => `$${index}`,
  jsonText: (column, key) => `(${column}::jsonb ->> '${key}')`,
  lock_rows: ' FOR UPDATE',
  skip_locked: ' FOR UPDATE SKIP LOCKED',
};

export type SqlParameters = readonly unknown[] | Readonly<Record<string, unknown>>;

/**
 * Writes a query for a dialect: `?` takes the next positional parameter, `@name` the named one.
 * A named parameter missing from the object is a bug and throws.
 */
export function bind(
  dialect: SqlDialect,
  sql: string,
  parameters: SqlParameters,
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  if (Array.isArray(parameters)) {
    let index = 0;
    const text = sql.replace(/\?/g, () => {
      values.push(parameters[index++]);
      return dialect.placeholder(values.length);
    });
    if (index !== parameters.length)
      throw new Error(`query takes ${index} parameters, got ${parameters.length}`);
    return { text, values };
  }
  const named = parameters as Record<string, unknown>;
  const text = sql.replace(/@(\w+)/g, (_match, name: string) => {
    if (!(name in named)) throw new Error(`query parameter @${name} is missing`);
    values.push(named[name]);
    return dialect.placeholder(values.length);
  });
  return { text, values };
}

export type Row = Record<string, unknown>;

/** The one thing a store adapter supplies: run a query and return its rows and how many rows it changed. */
export interface SqlExecutor {
  query(text: string, values: unknown[]): Promise<{ rows: Row[]; changes: number }>;
}
