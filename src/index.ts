/**
 * Tally as a library: `createTally()` opens the engine on an embedded SQLite file (or memory)
 * with a configuration, and every command is a method of the returned `Tally`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLError } from 'yaml';
import {
  ConfigError,
  ConfigurationMissing,
  compileConfig,
  type TallyConfig,
  type TallyConfigInput,
} from './schema/config.ts';
import { type Clock, systemClock } from './service/clock.ts';
import { Tally } from './service/tally.ts';
import { PostgresStore } from './store/postgres/postgres-store.ts';
import { SqliteStore } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

export interface CreateTallyOptions {
  /** SQLite file path; defaults to a private in-memory database. Ignored when `store` or `database_url` is given. */
  database?: string;
  /** `postgres://…`: run on PostgreSQL instead of the embedded SQLite file. */
  database_url?: string;
  /** A store to run on instead of the embedded SQLite file. */
  store?: Store;
  /**
   * The configuration: an object (the shape of tally.config.yaml), a path to a YAML file, or a
   * preset's name (`presets`). Absent: the one the database was last opened with, else defaults.
   */
  config?: TallyConfigInput | string;
  /**
   * What runs when no configuration is given and the database holds none: a configuration, or
   * null to refuse (ConfigurationMissing). Default: the built-in defaults.
   */
  default_config?: TallyConfigInput | string | null;
  /** Whether a configuration given is kept in the database for the next opening (default true). */
  store_configuration?: boolean;
  clock?: Clock;
}

/** The configurations Tally ships (examples/), one per product it was made from: pass one as `config`. */
export const presets = Object.fromEntries(
  ['prompt-marketplace', 'app-builder', 'dev-platform', 'credit-ux', 'fair-pricing'].map((name) => [
    name,
    fileURLToPath(new URL(`../examples/${name}.yaml`, import.meta.url)),
  ]),
) as Record<'prompt-marketplace' | 'app-builder' | 'dev-platform' | 'credit-ux' | 'fair-pricing', string>;

/** A configuration's document and where it came from: a YAML file, a preset's name, or null for an object. */
interface ConfigDocument {
  document: unknown;
  source: string | null;
}

export function readConfigDocument(source: TallyConfigInput | string): {
  document: unknown;
  source: string | null;
} {
  if (typeof source !== 'string') return { document: source, source: null };
  const path = existsSync(source) ? source : (presets as Record<string, string>)[source];
  if (path === undefined)
    throw new ConfigError(
      `no configuration file at ${source} (the presets are ${Object.keys(presets).join(', ')})`,
    );
  try {
    return { document: parseYaml(readFileSync(path, 'utf8')), source };
  } catch (error) {
    if (error instanceof YAMLError) {
      const line = error.linePos?.[0].line;
      throw new ConfigError(
        `${source} is not valid YAML${line ? ` (line ${line})` : ''}: ${error.message.split('\n')[0]}`,
      );
    }
    throw error;
  }
}

export function loadConfig(source: TallyConfigInput | string | undefined): TallyConfig {
  return compileConfig(source === undefined ? {} : readConfigDocument(source).document);
}

export async function createTally(options: CreateTallyOptions = {}): Promise<Tally> {
  const given = options.config === undefined ? undefined : readConfigDocument(options.config);
  const fallback =
    options.default_config === undefined || options.default_config === null
      ? options.default_config
      : readConfigDocument(options.default_config);
  const database = options.database ?? ':memory:';
  // A new database file goes where it was asked, folders and all.
  if (!options.store && !options.database_url && database !== ':memory:' && database !== '')
    mkdirSync(dirname(database), { recursive: true });
  const store =
    options.store ??
    (options.database_url
      ? await PostgresStore.open({ url: options.database_url })
      : new SqliteStore({ filename: database }));
  try {
    return await openOn(store, given, fallback, options);
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Opens the engine on `store` with the configuration given, or the one it holds. */
async function openOn(
  store: Store,
  named: ConfigDocument | undefined,
  fallback: ConfigDocument | null | undefined,
  options: CreateTallyOptions,
): Promise<Tally> {
  const clock = options.clock ?? systemClock;
  const stored = await store.read((transaction) => transaction.getStoredConfiguration());
  if (!named && !stored && fallback === null) throw new ConfigurationMissing();
  // A fallback is stored like a named one: the next opening finds it without being told.
  const given = named ?? (stored ? undefined : (fallback ?? undefined));
  const config = compileConfig(given?.document ?? stored?.document ?? {});
  let tally: Tally;
  try {
    tally = await Tally.open(store, config, clock);
  } catch (error) {
    if (error instanceof ConfigError && given && stored)
      throw new ConfigError(
        `this database was set up with another configuration${stored.source ? ` (${stored.source})` : ''}: ${error.message}. Open it without a configuration to use the one it holds`,
      );
    throw error;
  }
  if (
    given &&
    (options.store_configuration ?? true) &&
    JSON.stringify(given.document) !== JSON.stringify(stored?.document)
  )
    await store.transaction((transaction) =>
      transaction.putStoredConfiguration({ ...given, stored_at_ms: clock.now_ms() }),
    );
  return tally;
}

export { formatCredits, parseCredits } from './domain/credits.ts';
export { type ResultCode, resultCodes, TallyError } from './domain/results.ts';
export { ConfigError, ConfigurationMissing } from './schema/config.ts';
export { type Clock, systemClock, TestClock } from './service/clock.ts';
export type { BalanceView, CommandOptions, DueWorkReport, RefundView } from './service/tally.ts';
export { Tally } from './service/tally.ts';
export type { AccountView, ChargeView, GrantView, ReservationView } from './service/views.ts';
export { PostgresStore } from './store/postgres/postgres-store.ts';
export { SqliteStore } from './store/sqlite/sqlite-store.ts';
export type { Store } from './store/store.ts';
