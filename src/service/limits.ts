/**
 * Limits on an account (SPEC C8): those of the configuration, of its plan, and its own (set by
 * the operator or by the user as a spending limit), each measured over its window in the
 * account's timezone. They become caps on draw-down, lines in the balance and reasons in a refusal.
 */
import type { z } from 'zod';
import type { Window } from '../domain/calendar.ts';
import { formatCredits } from '../domain/credits.ts';
import type { DrawCap } from '../domain/drawdown.ts';
import type { LimitRule } from '../domain/plans.ts';
import {
  EACH_MEMBER,
  limitAppliesTo,
  limitWindow,
  type RunScope,
  type SpendRecord,
  spendBucketAfter,
  spentUnder,
} from '../domain/spending.ts';
import type { limitAnswer } from '../schema/answers.ts';
import type { TallyConfig } from '../schema/config.ts';
import type {
  AccountLimitRow,
  AccountRow,
  ChargeRow,
  ReservationRow,
  SpendBucketRow,
  StoreTransaction,
  SubscriptionRow,
} from '../store/store.ts';
import { allCharges } from './history.ts';
import { activePlan } from './schedules.ts';
import { isoTime } from './views.ts';

/** Where a limit comes from: `account` is the operator's for this account, `customer` the customer's own. */
export type LimitSource = 'config' | 'plan' | 'account' | 'customer';

/**
 * A limit's key among the account's limits. The customer's own limits are apart from the
 * operator's, so one may share an id (the customer's lower `free_daily`) and both still apply.
 */
export function limitKey(id: string, source: LimitSource): string {
  return source === 'customer' ? `customer:${id}` : id;
}

export interface LimitStatus {
  rule: LimitRule;
  source: LimitSource;
  /** limitKey(rule.id, source): what caps, refusals and limit.reached name the limit by. */
  key: string;
  window: Window;
  used_micros: bigint;
  /** When the window ends and the limit frees up; null for a rolling window. */
  resets_at_ms: number | null;
}

export type LimitView = z.infer<typeof limitAnswer>;

export function limitView(status: LimitStatus): LimitView {
  const remaining = status.rule.max_micros - status.used_micros;
  return {
    id: status.rule.id,
    window: status.rule.window,
    max: formatCredits(status.rule.max_micros),
    used: formatCredits(status.used_micros),
    remaining: formatCredits(remaining > 0n ? remaining : 0n),
    resets_at: status.resets_at_ms === null ? null : isoTime(status.resets_at_ms),
    kinds: status.rule.kinds,
    operations: status.rule.operations,
    member: status.rule.member,
    project: status.rule.project,
    source: status.source,
  };
}

/**
 * The account's limits: configuration, then plan, then the operator's for the account; a later
 * one with the same id replaces an earlier. The customer's own limits come on top, each apart:
 * they never replace one of the others, so the tighter of the two always applies.
 */
export function effectiveLimits(
  config: TallyConfig,
  account_limits: readonly AccountLimitRow[],
  subscription: SubscriptionRow | undefined,
): { rule: LimitRule; source: LimitSource }[] {
  const by_id = new Map<string, { rule: LimitRule; source: LimitSource }>();
  for (const rule of config.limits) by_id.set(rule.id, { rule, source: 'config' });
  for (const rule of activePlan(config, subscription)?.limits ?? [])
    by_id.set(rule.id, { rule, source: 'plan' });
  const customer: { rule: LimitRule; source: LimitSource }[] = [];
  for (const row of account_limits) {
    const { account_id: _account, updated_at_ms: _updated, set_by, ...rule } = row;
    if (set_by === 'customer') customer.push({ rule, source: 'customer' });
    else by_id.set(row.id, { rule, source: 'account' });
  }
  for (const [id, max] of Object.entries(subscription?.overrides.limits ?? {})) {
    const limit = by_id.get(id);
    if (limit) by_id.set(id, { ...limit, rule: { ...limit.rule, max_micros: BigInt(max) } });
  }
  return [...by_id.values(), ...customer];
}

/** A charge, or a hold still counted against limits, as spending rules see it. */
export const spendRecord = (run: ChargeRow | ReservationRow): SpendRecord => ({
  at_ms: run.created_at_ms,
  operation: run.operation,
  member: run.member,
  project: run.metadata.project ?? null,
  api_key: run.api_key_id,
  allocations: run.allocations,
});

/** Every limit of the account with what is used of it now. */
export async function limitStatuses(
  transaction: StoreTransaction,
  config: TallyConfig,
  account: AccountRow,
  subscription: SubscriptionRow | undefined,
  account_limits: readonly AccountLimitRow[],
  now_ms: number,
  /** The team member a run is of: a limit on each member is measured for them. */
  member: string | null = null,
  /** The account's held reservations where the caller has them all already; else they are read. */
  held?: readonly ReservationRow[],
): Promise<LimitStatus[]> {
  const limits = effectiveLimits(config, account_limits, subscription).map((limit) =>
    limit.rule.member === EACH_MEMBER && member !== null
      ? { ...limit, rule: { ...limit.rule, member } }
      : limit,
  );
  if (limits.length === 0) return [];
  const cycle =
    subscription?.status === 'active'
      ? { start_ms: subscription.current_period_start_ms, end_ms: subscription.current_period_end_ms }
      : null;
  const windows = limits.map(({ rule }) => limitWindow(rule, now_ms, account.timezone, cycle));
  // Per window start, its whole quarter hours summed in the database from the spend buckets (one
  // row per scope and kind, whatever the history), and the charges of a partial first quarter (a
  // rolling window, a billing cycle) read as they are.
  const spent_from = new Map<number, SpendRecord[]>();
  for (const { start_ms } of windows) {
    if (spent_from.has(start_ms)) continue;
    const whole_from_ms = spendBucketAfter(start_ms);
    const records = (await transaction.sumSpendBuckets(account.id, whole_from_ms)).map((sum) =>
      spendRecordOf(sum, whole_from_ms),
    );
    if (whole_from_ms !== start_ms) {
      const filter = { account_id: account.id, from_ms: start_ms, to_ms: whole_from_ms };
      records.push(...(await allCharges(transaction, filter)).map(spendRecord));
    }
    spent_from.set(start_ms, records);
  }
  const holds = (held ?? (await transaction.listHeldReservations(account.id)))
    .filter((reservation) => reservation.status === 'held' && reservation.expires_at_ms > now_ms)
    .map(spendRecord);
  return limits.map(({ rule, source }, index) => {
    const window = windows[index]!;
    const records = spent_from.get(window.start_ms)!;
    return {
      rule,
      source,
      key: limitKey(rule.id, source),
      window,
      used_micros: spentUnder(rule, window, records, holds),
      resets_at_ms: rule.window === 'rolling_24h' ? null : window.end_ms,
    };
  });
}

/** Summed spend buckets as spending rules see them: a scope's spend of one kind, from `at_ms` on. */
const spendRecordOf = (bucket: Omit<SpendBucketRow, 'start_ms'>, at_ms: number): SpendRecord => ({
  at_ms,
  operation: bucket.operation,
  member: bucket.member,
  project: bucket.project,
  api_key: bucket.api_key_id,
  allocations: [{ grant_id: '', kind: bucket.kind, amount_micros: bucket.spent_micros }],
});

/** The caps a run must stay within: every limit that applies to it, with the room it has left. */
export function capsFor(statuses: readonly LimitStatus[], run: RunScope): DrawCap[] {
  return statuses
    .filter((status) => limitAppliesTo(status.rule, run))
    .map((status) => ({
      id: status.key,
      kinds: status.rule.kinds,
      headroom_micros: status.rule.max_micros - status.used_micros,
    }));
}
