/**
 * `tally simulate` (SPEC C16): a plan's fairness before it ships, measured on the code path that
 * will bill. The trace runs through the real engine (replay.ts) on an in-memory SQLite store with
 * a test clock; the report is then read from that store's journal, grants and charges:
 *
 * - per kind: credits granted, bought, used and expired (breakage);
 * - money paid (purchases, and subscription periods at the plan's price);
 * - money per credit used, and credits per usable output (failed and rejected runs count in the
 *   spend, not in the outputs — seed 001);
 * - runs refused and by what; the share of spend on failed runs.
 */
import { formatCredits } from '../domain/credits.ts';
import { formatDecimal, parseDecimal } from '../domain/decimal.ts';
import { currencyExponent } from '../domain/money.ts';
import { readConfigDocument } from '../index.ts';
import { compileConfig, compilePriceBook } from '../schema/config.ts';
import { TestClock } from '../service/clock.ts';
import { Tally } from '../service/tally.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { libraryPort, type RowOutcome, replayTrace } from './replay.ts';
import { parseTrace, type TraceRow } from './trace.ts';

/** Credits by grant kind, as decimal strings. */
export type ByKind = Record<string, string>;

export interface AccountFigures {
  account: string;
  granted: ByKind;
  bought: ByKind;
  used: ByKind;
  expired: ByKind;
  /** Money paid, in minor units of the credit value's currency. */
  paid_minor: number;
  runs: number;
  usable_outputs: number;
  refused: Record<string, number>;
  credits_used: string;
  credits_on_failed_runs: string;
  /** Money per credit used (major units); null when nothing was used. */
  money_per_credit: string | null;
  /** Credits per usable output; null without one. */
  credits_per_usable_output: string | null;
  /** Share of the credits used that went to failed runs, 0..1 with 4 decimals. */
  failed_share: string;
}

export interface SimulationReport {
  config: string;
  currency: string;
  rows: number;
  from: string;
  to: string;
  total: Omit<AccountFigures, 'account'>;
  accounts: AccountFigures[];
  /** Credits expired by month (YYYY-MM, UTC) and kind: breakage over time. */
  expired_by_month: Record<string, ByKind>;
  outcomes: RowOutcome[];
}

/** Ratio of two micro amounts as a decimal string with `places` decimals, rounded down. */
function ratio(numerator: bigint, denominator: bigint, places: number): string | null {
  if (denominator === 0n) return null;
  const scale = 10n ** BigInt(places);
  return formatDecimal({ units: (numerator * scale) / denominator, scale: places });
}

const add = (into: Map<string, bigint>, key: string, micros: bigint) =>
  into.set(key, (into.get(key) ?? 0n) + micros);
const byKind = (sums: Map<string, bigint>): ByKind =>
  Object.fromEntries(
    [...sums]
      .filter(([, micros]) => micros !== 0n)
      .sort()
      .map(([kind, micros]) => [kind, formatCredits(micros)]),
  );

/**
 * A configuration as the simulator runs it: its payments replaced by the test provider, so that
 * packs are bought and no card is ever charged.
 */
export function simulationDocument(config_source: string): Record<string, unknown> {
  const { document } = readConfigDocument(config_source);
  return { ...(document as Record<string, unknown>), payments: { provider: 'test', providers: ['test'] } };
}

/**
 * Runs a trace on a configuration and reports what it did. The configuration's payments are
 * replaced by the test provider: the simulator buys packs, it never charges a card.
 */
export async function simulate(
  config_source: string,
  trace_text: string,
  options: { progress?: { tick(): void; stop(): void }; onRows?: (rows: number) => void } = {},
): Promise<SimulationReport> {
  const config = compileConfig(simulationDocument(config_source));
  const book = compilePriceBook(config.price_book_document);
  const rows = parseTrace(trace_text, config, new Set(book.operations.keys()));

  const clock = new TestClock(rows[0]!.at_ms);
  const memory = new SqliteStore({ filename: ':memory:' });
  const tally = await Tally.open(memory, config, clock);
  try {
    options.onRows?.(rows.length);
    const outcomes = await replayTrace(libraryPort(tally, clock), rows, options.progress);
    options.progress?.stop();
    // Whatever came due by the last row's instant is booked; nothing after it is invented.
    await tally.bookDueWork();
    return await figures(tally, config_source, rows, outcomes, book.credit_value);
  } finally {
    await tally.close();
  }
}

async function figures(
  tally: Tally,
  config_source: string,
  rows: readonly TraceRow[],
  outcomes: readonly RowOutcome[],
  credit_value: { currency: string; amount_minor_per_credit: { units: bigint; scale: number } },
): Promise<SimulationReport> {
  const line_rows = new Map(rows.map((row) => [row.line, row]));
  const accounts = [...new Set(rows.map((row) => row.account))].sort();
  const expired_by_month = new Map<string, Map<string, bigint>>();
  const per_account: AccountFigures[] = [];
  const totals = {
    granted: new Map<string, bigint>(),
    bought: new Map<string, bigint>(),
    used: new Map<string, bigint>(),
    expired: new Map<string, bigint>(),
    paid_minor: 0,
    runs: 0,
    usable_outputs: 0,
    refused: {} as Record<string, number>,
    credits_used: 0n,
    credits_failed: 0n,
  };
  const by_account = new Map<string, RowOutcome[]>();
  for (const outcome of outcomes) {
    const account = line_rows.get(outcome.line)!.account;
    by_account.set(account, [...(by_account.get(account) ?? []), outcome]);
  }
  for (const account of accounts) {
    const facts = await tally.store.read(async (transaction) => ({
      grants: await transaction.listGrants(account),
      journal: await transaction.listJournal(account, { after_sequence: 0, limit: 10_000_000 }),
      purchases: await transaction.listPurchases(account, { limit: 10_000 }),
      subscriptions: [
        ...(await transaction.listEvents({ account_id: account, type: 'subscription.created' }, 10_000)),
        ...(await transaction.listEvents({ account_id: account, type: 'subscription.renewed' }, 10_000)),
      ],
    }));
    const kind_of = new Map(facts.grants.map((grant) => [grant.id, grant.kind]));
    // A grant's credits expired when it closed, whenever that was booked.
    const closed_at = new Map(facts.grants.map((grant) => [grant.id, grant.closed_at_ms]));
    const granted = new Map<string, bigint>();
    const bought = new Map<string, bigint>();
    const used = new Map<string, bigint>();
    const expired = new Map<string, bigint>();
    for (const grant of facts.grants)
      add(grant.source === 'purchase' ? bought : granted, grant.kind, grant.amount_micros);
    for (const posted of facts.journal) {
      for (const entry of posted.entries) {
        if (entry.book === 'expired' && entry.grant_id) {
          const kind = kind_of.get(entry.grant_id) ?? '?';
          add(expired, kind, entry.amount_micros);
          const month = new Date(closed_at.get(entry.grant_id) ?? posted.created_at_ms)
            .toISOString()
            .slice(0, 7);
          const of_month = expired_by_month.get(month) ?? new Map<string, bigint>();
          expired_by_month.set(month, of_month);
          add(of_month, kind, entry.amount_micros);
        }
        // Spent: what left a grant for `consumed` (refunds put it back, and are subtracted).
        if (entry.book === 'consumed' && entry.grant_id)
          add(used, kind_of.get(entry.grant_id) ?? '?', entry.amount_micros);
      }
    }
    let paid_minor = facts.purchases
      .filter((purchase) => purchase.status === 'paid' || purchase.status === 'partially_refunded')
      .reduce((sum, purchase) => sum + Number(purchase.amount_minor), 0);
    for (const event of facts.subscriptions) {
      const plan = tally.config.plans.get(String((event.data as { plan?: string }).plan ?? ''));
      if (plan) paid_minor += plan.price.amount_minor;
    }
    const mine = by_account.get(account) ?? [];
    const refused: Record<string, number> = {};
    let runs = 0;
    let usable_outputs = 0;
    let credits_failed = 0n;
    for (const outcome of mine) {
      const row = line_rows.get(outcome.line)!;
      if (row.kind !== 'run') continue;
      runs++;
      if (!outcome.ok) {
        refused[outcome.cause] = (refused[outcome.cause] ?? 0) + 1;
        totals.refused[outcome.cause] = (totals.refused[outcome.cause] ?? 0) + 1;
        continue;
      }
      if (row.usable && row.outcome === 'succeeded') usable_outputs++;
      if (row.outcome === 'failed') credits_failed += micros(outcome.credits ?? '0');
    }
    const credits_used = [...used.values()].reduce((sum, value) => sum + value, 0n);
    per_account.push(
      summary(
        account,
        {
          granted,
          bought,
          used,
          expired,
          paid_minor,
          runs,
          usable_outputs,
          refused,
          credits_used,
          credits_failed,
        },
        credit_value,
      ),
    );
    for (const [kind, value] of granted) add(totals.granted, kind, value);
    for (const [kind, value] of bought) add(totals.bought, kind, value);
    for (const [kind, value] of used) add(totals.used, kind, value);
    for (const [kind, value] of expired) add(totals.expired, kind, value);
    totals.paid_minor += paid_minor;
    totals.runs += runs;
    totals.usable_outputs += usable_outputs;
    totals.credits_used += credits_used;
    totals.credits_failed += credits_failed;
  }
  const { account: _, ...total } = summary('', { ...totals }, credit_value);
  return {
    config: config_source,
    currency: credit_value.currency,
    rows: rows.length,
    from: new Date(rows[0]!.at_ms).toISOString(),
    to: new Date(rows.at(-1)!.at_ms).toISOString(),
    total,
    accounts: per_account,
    expired_by_month: Object.fromEntries(
      [...expired_by_month].sort().map(([month, kinds]) => [month, byKind(kinds)]),
    ),
    outcomes: [...outcomes],
  };
}

function micros(credits: string): bigint {
  const parsed = parseDecimal(credits, 6);
  return parsed.ok ? parsed.value.units * 10n ** BigInt(6 - parsed.value.scale) : 0n;
}

function summary(
  account: string,
  sums: {
    granted: Map<string, bigint>;
    bought: Map<string, bigint>;
    used: Map<string, bigint>;
    expired: Map<string, bigint>;
    paid_minor: number;
    runs: number;
    usable_outputs: number;
    refused: Record<string, number>;
    credits_used: bigint;
    credits_failed: bigint;
  },
  credit_value: { currency: string; amount_minor_per_credit: { units: bigint; scale: number } },
): AccountFigures {
  // Money per credit used, in major units: (minor paid ÷ 10^exponent) ÷ (micro-credits ÷ 10^6).
  const exponent = BigInt(currencyExponent(credit_value.currency) ?? 2);
  const per_credit = ratio(BigInt(sums.paid_minor) * 1_000_000n, sums.credits_used * 10n ** exponent, 6);
  return {
    account,
    granted: byKind(sums.granted),
    bought: byKind(sums.bought),
    used: byKind(sums.used),
    expired: byKind(sums.expired),
    paid_minor: sums.paid_minor,
    runs: sums.runs,
    usable_outputs: sums.usable_outputs,
    refused: sums.refused,
    credits_used: formatCredits(sums.credits_used),
    credits_on_failed_runs: formatCredits(sums.credits_failed),
    money_per_credit: per_credit,
    credits_per_usable_output:
      sums.usable_outputs === 0
        ? null
        : ratio(sums.credits_used, BigInt(sums.usable_outputs) * 1_000_000n, 6),
    failed_share: ratio(sums.credits_failed, sums.credits_used, 4) ?? '0',
  };
}

/** Minor units of money as its major-unit decimal ("5900" USD → "59.00"). */
export function paidMoney(currency: string, minor: number): string {
  const exponent = currencyExponent(currency) ?? 2;
  const text = formatDecimal({ units: BigInt(minor), scale: exponent });
  const [whole, fraction = ''] = text.split('.');
  return exponent === 0 ? whole! : `${whole}.${fraction.padEnd(exponent, '0')}`;
}
