/**
 * What the data commands of the CLI act on: the local database through the library, or a
 * running Tally server through the SDK (`--url` with `--key`, or TALLY_URL and TALLY_KEY).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chargesCsv } from '../http/csv.ts';
import { createTally } from '../index.ts';
import type { IssueGrantInput, ListChargesInput } from '../schema/commands.ts';
import { type Page, TallyClient } from '../sdk/client.ts';
import type { Clock } from '../service/clock.ts';
import type { PriceTableView } from '../service/price-table.ts';
import type { BalanceView, CommandOptions, Tally } from '../service/tally.ts';
import type { ChargeView, GrantView } from '../service/views.ts';
import { DEMO_CONFIG } from './demo.ts';

export interface CliBackend {
  balance(account: string): Promise<BalanceView>;
  issueGrant(input: IssueGrantInput, options: CommandOptions): Promise<GrantView>;
  prices(version?: number): Promise<PriceTableView>;
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

/** Where the local engine keeps its data: PostgreSQL at `url`, else the SQLite file `db`. */
export function databaseOf(options: Pick<BackendOptions, 'db' | 'databaseUrl'>): {
  db: string;
  url?: string;
} {
  return { db: options.db, url: options.databaseUrl ?? process.env.DATABASE_URL };
}

/** Opens the local engine (the SQLite file's folder made if missing), with the demo price book unless `config` is given. */
export async function openLocalTally(
  options: Pick<BackendOptions, 'db' | 'databaseUrl' | 'config'>,
  clock?: Clock,
): Promise<Tally> {
  const database = databaseOf(options);
  if (!database.url && database.db !== ':memory:')
    mkdirSync(dirname(resolve(database.db)), { recursive: true });
  return createTally({
    database: database.db,
    database_url: database.url,
    config: options.config ?? DEMO_CONFIG,
    clock,
  });
}

/** Opens the local engine for the length of `work`. */
export async function withTally<Result>(
  options: BackendOptions,
  work: (tally: Tally) => Promise<Result>,
): Promise<Result> {
  const tally = await openLocalTally(options);
  try {
    return await work(tally);
  } finally {
    await tally.close();
  }
}

const local = (tally: Tally): CliBackend => ({
  balance: (account) => tally.getBalance(account),
  issueGrant: (input, options) => tally.issueGrant(input, options),
  prices: (version) => tally.priceTable(version),
  charges: (query) => tally.listCharges(query),
  chargesCsv: async (query) => chargesCsv(await tally.exportCharges(query)),
});

const remote = (client: TallyClient): CliBackend => ({
  balance: (account) => client.balance(account),
  issueGrant: ({ account, ...grant }, options) => client.issueGrant(account, grant, options),
  prices: (version) => (version === undefined ? client.prices() : client.priceVersion(version)),
  charges: (query) => client.charges(query),
  chargesCsv: (query) => client.chargesCsv(query),
});

export async function withBackend<Result>(
  options: BackendOptions,
  work: (backend: CliBackend) => Promise<Result>,
): Promise<Result> {
  const url = options.url ?? process.env.TALLY_URL;
  if (url) return work(remote(new TallyClient({ url, credential: options.key ?? process.env.TALLY_KEY })));
  return withTally(options, (tally) => work(local(tally)));
}
