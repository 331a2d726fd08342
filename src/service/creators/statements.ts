/**
 * Creators' statements (SPEC C10). Earnings are read from the charges that name a creator: each
 * holds the share booked to them and what refunds took back, so a statement reconciles with
 * what runners paid run by run. What is payable is computed in one place, here, for the
 * statement and for the payout command, which reads it under the creator's lock.
 */
import type { z } from 'zod';
import { DAY_MS } from '../../domain/calendar.ts';
import { formatCredits } from '../../domain/credits.ts';
import { HISTORY_ROWS_MAX } from '../../domain/limits.ts';
import { type CreditValue, moneyFor } from '../../domain/money.ts';
import { TallyError } from '../../domain/results.ts';
import type { earningsAnswer, earningsGroupAnswer } from '../../schema/answers.ts';
import type { TallyConfig } from '../../schema/config.ts';
import type { ChargeRow, StoreTransaction } from '../../store/store.ts';

export type EarningsView = z.infer<typeof earningsAnswer>;
type EarningsGroup = z.infer<typeof earningsGroupAnswer>;
export type EarningsGrouping = EarningsView['group_by'];

/** Earnings of runs before this instant are past the hold and may be paid out. */
export const payableEdge = (config: TallyConfig, now_ms: number): number =>
  now_ms - config.creators.payout_hold_days * DAY_MS;

export interface Payable {
  /** Net earnings of runs before the edge, less every payout: may be negative after late refunds. */
  payable_micros: bigint;
  /** Net earnings of runs after the edge, still within the hold. */
  in_hold_micros: bigint;
  paid_micros: bigint;
  earned_before_ms: number;
}

/** What a creator may be paid now. The payout command calls it under the creator's lock. */
export async function payableOf(
  transaction: StoreTransaction,
  config: TallyConfig,
  creator_id: string,
  now_ms: number,
): Promise<Payable> {
  const earned_before_ms = payableEdge(config, now_ms);
  const past = await transaction.sumCreatorEarnings(creator_id, earned_before_ms);
  const all = await transaction.sumCreatorEarnings(creator_id, Number.MAX_SAFE_INTEGER);
  const paid_micros = await transaction.sumCreatorPayouts(creator_id);
  const past_net = past.share_micros - past.reversed_micros;
  return {
    payable_micros: past_net - paid_micros,
    in_hold_micros: all.share_micros - all.reversed_micros - past_net,
    paid_micros,
    earned_before_ms,
  };
}

/** Every charge naming the creator in [from, to), oldest first, read page by page. */
async function creatorCharges(
  transaction: StoreTransaction,
  creator_id: string,
  range: { from_ms: number; to_ms: number },
): Promise<ChargeRow[]> {
  const rows: ChargeRow[] = [];
  let after: { created_at_ms: number; id: string } | undefined;
  for (;;) {
    const page = await transaction.listCreatorCharges(creator_id, range, { limit: 1_000, after });
    rows.push(...page);
    if (rows.length > HISTORY_ROWS_MAX) {
      throw new TallyError(
        'invalid_request',
        `more than ${HISTORY_ROWS_MAX} runs match; narrow the time range`,
      );
    }
    if (page.length < 1_000) return rows;
    const last = page.at(-1)!;
    after = { created_at_ms: last.created_at_ms, id: last.id };
  }
}

function keyOf(charge: ChargeRow, group_by: EarningsGrouping, day: Intl.DateTimeFormat): string {
  if (group_by === 'day') return day.format(new Date(charge.created_at_ms));
  const key = group_by === 'prompt' ? charge.metadata.prompt : charge.metadata.app;
  return key ?? '(none)';
}

/** A creator's statement: runs, gross, share, reversals and net per group, and what is payable. */
export async function creatorStatement(
  transaction: StoreTransaction,
  config: TallyConfig,
  credit_value: CreditValue,
  query: {
    creator: string;
    from_ms: number | undefined;
    to_ms: number;
    group_by: EarningsGrouping;
    timezone: string;
  },
  now_ms: number,
): Promise<EarningsView> {
  const charges = await creatorCharges(transaction, query.creator, {
    from_ms: query.from_ms ?? 0,
    to_ms: query.to_ms,
  });
  // en-CA formats dates as YYYY-MM-DD, in the creator's timezone.
  const day = new Intl.DateTimeFormat('en-CA', {
    timeZone: query.timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  const sums = new Map<string, { runs: number; gross: bigint; share: bigint; reversed: bigint }>();
  const total = { runs: 0, gross: 0n, share: 0n, reversed: 0n };
  for (const charge of charges) {
    const key = keyOf(charge, query.group_by, day);
    const sum = sums.get(key) ?? { runs: 0, gross: 0n, share: 0n, reversed: 0n };
    sums.set(key, sum);
    for (const into of [sum, total]) {
      into.runs += 1;
      into.gross += charge.credits_micros - charge.refunded_micros;
      into.share += charge.creator!.share_micros;
      into.reversed += charge.creator!.reversed_micros;
    }
  }
  const group = (key: string, sum: typeof total): EarningsGroup => ({
    key,
    runs: sum.runs,
    gross: formatCredits(sum.gross),
    share: formatCredits(sum.share),
    reversed: formatCredits(sum.reversed),
    net: formatCredits(sum.share - sum.reversed),
    money: moneyFor(sum.share - sum.reversed, credit_value),
  });
  const payable = await payableOf(transaction, config, query.creator, now_ms);
  const { key: _, runs: __, ...totals } = group('', total);
  return {
    creator: query.creator,
    from: query.from_ms === undefined ? null : new Date(query.from_ms).toISOString(),
    to: new Date(query.to_ms).toISOString(),
    group_by: query.group_by,
    groups: [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, sum]) => group(key, sum)),
    ...totals,
    payable: formatCredits(payable.payable_micros),
    payable_money: moneyFor(payable.payable_micros, credit_value),
    in_hold: formatCredits(payable.in_hold_micros),
    paid: formatCredits(payable.paid_micros),
    hold_days: config.creators.payout_hold_days,
  };
}
