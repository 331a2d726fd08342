/**
 * What the data commands of the CLI act on: the local database through the library, or a
 * running Tally server through the SDK (`--url` with `--key`, or TALLY_URL and TALLY_KEY).
 *
 * The configuration is, in order: `--config`, TALLY_CONFIG, `./tally.config.yaml`, then the one
 * the database was last opened with. Commands that only read never create a database.
 */
import { existsSync } from 'node:fs';
import { chargesCsv } from '../http/csv.ts';
import { ConfigurationMissing, createTally, presets } from '../index.ts';
import type { IssueGrantInput, ListChargesInput } from '../schema/commands.ts';
import { type Page, TallyClient } from '../sdk/client.ts';
import type { Clock } from '../service/clock.ts';
import type { PackListView } from '../service/payments/views.ts';
import type { PriceTableView } from '../service/price-table.ts';
import type { BalanceView, CommandOptions, Tally } from '../service/tally.ts';
import type { ChargeView, GrantView } from '../service/views.ts';
import { CliError } from './errors.ts';

export interface CliBackend {
  balance(account: string): Promise<BalanceView>;
  issueGrant(input: IssueGrantInput, options: CommandOptions): Promise<GrantView>;
  prices(version?: number): Promise<PriceTableView>;
  packs(): Promise<PackListView>;
  charges(query: ListChargesInput): Promise<Page<ChargeView>>;
  chargesCsv(query: Omit<ListChargesInput, 'limit' | 'cursor'>): Promise<string>;
}

export interface BackendOptions {
  db: string;
  /** `postgres://…` (or DATABASE_URL): PostgreSQL instead of the SQLite file. */
  databaseUrl?: string;
  config?: string;
  url?: string;
  key?: string;
}

/** The configuration file a project keeps beside it, read when none is named. */
export const PROJECT_CONFIG = 'tally.config.yaml';

/** Where the local engine keeps its data: PostgreSQL at `url`, else the SQLite file `db`. */
export function databaseOf(options: Pick<BackendOptions, 'db' | 'databaseUrl'>): {
  db: string;
  url?: string;
} {
  return { db: options.db, url: options.databaseUrl ?? process.env.DATABASE_URL };
}

/** The configuration named for this run: --config, TALLY_CONFIG, ./tally.config.yaml; else none. */
export function configNamed(options: Pick<BackendOptions, 'config'>): string | undefined {
  return (
    options.config ?? process.env.TALLY_CONFIG ?? (existsSync(PROJECT_CONFIG) ? PROJECT_CONFIG : undefined)
  );
}

export interface OpenLocal {
  /** `read`: the database must exist, and no configuration is stored in it. */
  access: 'read' | 'write';
  /** What a database that holds no configuration and is given none runs with (else that is refused). */
  fallback_config?: string;
  clock?: Clock;
}

const NO_CONFIGURATION = `no configuration: pass --config FILE (or a preset: ${Object.keys(presets).join(', ')}), set TALLY_CONFIG, or put a ${PROJECT_CONFIG} here`;

/** Opens the local engine on the database the options name. */
export async function openLocalTally(
  options: Pick<BackendOptions, 'db' | 'databaseUrl' | 'config'>,
  open: OpenLocal,
): Promise<Tally> {
  const database = databaseOf(options);
  if (open.access === 'read' && !database.url && database.db !== ':memory:' && !existsSync(database.db))
    throw new CliError(
      `no database at ${database.db}: give the one to read with --db, or create it with tally init --config FILE`,
    );
  const config = configNamed(options);
  // A new database is made only with a configuration to run it with.
  if (
    !config &&
    !open.fallback_config &&
    !database.url &&
    database.db !== ':memory:' &&
    !existsSync(database.db)
  )
    throw new CliError(NO_CONFIGURATION);
  const tally = await createTally({
    database: database.db,
    database_url: database.url,
    config,
    default_config: open.fallback_config ?? null,
    store_configuration: open.access === 'write',
    clock: open.clock,
  }).catch((error: unknown) => {
    if (error instanceof ConfigurationMissing) throw new CliError(NO_CONFIGURATION);
    throw error;
  });
  return tally;
}

/** Opens the local engine for the length of `work`. */
export async function withTally<Result>(
  options: BackendOptions,
  open: OpenLocal,
  work: (tally: Tally) => Promise<Result>,
): Promise<Result> {
  const tally = await openLocalTally(options, open);
  try {
    return await work(tally);
  } finally {
    await tally.close();
  }
}

const local = (tally: Tally): CliBackend => ({
  balance: (account) => tally.getBalance(account),
  issueGrant: (input, options) => tally.issueGrant(input, { ...options, actor: 'cli' }),
  prices: (version) => tally.priceTable(version),
  packs: () => tally.listPacks(),
  charges: (query) => tally.listCharges(query),
  chargesCsv: async (query) => chargesCsv(await tally.exportCharges(query)),
});

const remote = (client: TallyClient): CliBackend => ({
  balance: (account) => client.balance(account),
  issueGrant: ({ account, ...grant }, options) => client.issueGrant(account, grant, options),
  prices: (version) => (version === undefined ? client.prices() : client.priceVersion(version)),
  packs: () => client.packs(),
  charges: (query) => client.charges(query),
  chargesCsv: (query) => client.chargesCsv(query),
});

/** The server at --url (or TALLY_URL) when one is named, else the local database. */
export async function withBackend<Result>(
  options: BackendOptions,
  open: OpenLocal,
  work: (backend: CliBackend) => Promise<Result>,
): Promise<Result> {
  const url = options.url ?? process.env.TALLY_URL;
  if (url)
    return work(remote(new TallyClient({ url, credential: options.key ?? process.env.TALLY_KEY }))).catch(
      (error: unknown) => {
        // fetch says only "fetch failed"; what went wrong is in its cause.
        if (error instanceof TypeError && error.message === 'fetch failed') {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          throw new CliError(
            `cannot reach the Tally server at ${url} (${cause?.code ?? cause?.message ?? 'no answer'}): is it running, and is --url (or TALLY_URL) right?`,
          );
        }
        throw error;
      },
    );
  return withTally(options, open, (tally) => work(local(tally)));
}
