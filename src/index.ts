/**
 * Tally as a library: `createTally()` opens the engine on an embedded SQLite file (or memory)
 * with a configuration, and every command is a method of the returned `Tally`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { compileConfig, type TallyConfig, type TallyConfigInput } from './schema/config.ts';
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
  /** The configuration as an object (the shape of tally.config.yaml), or a path to a YAML file. */
  config?: TallyConfigInput | string;
  clock?: Clock;
}

export function loadConfig(source: TallyConfigInput | string | undefined): TallyConfig {
  if (typeof source === 'string') return compileConfig(parseYaml(readFileSync(source, 'utf8')));
  return compileConfig(source ?? {});
}

/** The configurations Tally ships (examples/), one per product it was made from: pass one as `config`. */
export const presets = Object.fromEntries(
  ['prompt-marketplace', 'app-builder', 'dev-platform'].map((name) => [
    name,
    fileURLToPath(new URL(`../examples/${name}.yaml`, import.meta.url)),
  ]),
) as Record<'prompt-marketplace' | 'app-builder' | 'dev-platform', string>;

export async function createTally(options: CreateTallyOptions = {}): Promise<Tally> {
  const database = options.database ?? ':memory:';
  // A new database file goes where it was asked, folders and all.
  if (!options.store && !options.database_url && database !== ':memory:' && database !== '')
    mkdirSync(dirname(database), { recursive: true });
  const store =
    options.store ??
    (options.database_url
      ? await PostgresStore.open({ url: options.database_url })
      : new SqliteStore({ filename: database }));
  return Tally.open(store, loadConfig(options.config), options.clock ?? systemClock);
}

export { formatCredits, parseCredits } from './domain/credits.ts';
export { type ResultCode, resultCodes, TallyError } from './domain/results.ts';
export { ConfigError } from './schema/config.ts';
export { type Clock, systemClock, TestClock } from './service/clock.ts';
export type { BalanceView, CommandOptions, DueWorkReport, RefundView } from './service/tally.ts';
export { Tally } from './service/tally.ts';
export type { AccountView, ChargeView, GrantView, ReservationView } from './service/views.ts';
export { PostgresStore } from './store/postgres/postgres-store.ts';
export { SqliteStore } from './store/sqlite/sqlite-store.ts';
export type { Store } from './store/store.ts';
