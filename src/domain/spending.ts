/**
 * Limits in use (SPEC C8): which window a limit is measured over at an instant, which runs it
 * applies to, and how much of it is spent — settled runs in the window plus what live
 * reservations hold (held credits count at once; released ones come back).
 */
import { DAY_MS, periodContaining, type Window } from './calendar.ts';
import { type Allocation, operationAllowed } from './drawdown.ts';
import { SPEND_BUCKET_MS } from './limits.ts';
import type { LimitRule } from './plans.ts';

export interface RunScope {
  operation: string;
  member: string | null;
  project: string | null;
  /** The id of the API key the run was made with. */
  api_key: string | null;
}

/**
 * The member a team's limit names when it applies to each member apart (SPEC C11): every
 * member's own spend is measured against it, existing members as much as new ones.
 */
export const EACH_MEMBER = '*';

/** One run's spend as a limit sees it: when, what, and from which kinds of grant. */
export interface SpendRecord extends RunScope {
  at_ms: number;
  allocations: readonly Allocation[];
}

/** The window a limit measures at `now_ms`; billing-cycle limits use the subscription's cycle (else the month). */
export function limitWindow(
  limit: LimitRule,
  now_ms: number,
  timezone: string,
  billing_cycle: Window | null,
): Window {
  switch (limit.window) {
    case 'day':
      return periodContaining(now_ms, 'daily', timezone);
    case 'week':
      return periodContaining(now_ms, 'weekly', timezone);
    case 'month':
      return periodContaining(now_ms, 'monthly', timezone);
    case 'billing_cycle':
      return billing_cycle ?? periodContaining(now_ms, 'monthly', timezone);
    case 'rolling_24h':
      return { start_ms: now_ms - DAY_MS, end_ms: now_ms };
  }
}

/** Whether a run falls under a limit at all (its operation, member and project). */
export function limitAppliesTo(limit: LimitRule, run: RunScope): boolean {
  return (
    operationAllowed(limit.operations, run.operation) &&
    (limit.member === null || limit.member === run.member) &&
    (limit.project === null || limit.project === run.project) &&
    (limit.api_key === null || limit.api_key === run.api_key)
  );
}

/** Credits of the limit's kinds that runs under it spent or hold within the window. */
export function spentUnder(
  limit: LimitRule,
  window: Window,
  records: readonly SpendRecord[],
  holds: readonly SpendRecord[],
): bigint {
  let spent = 0n;
  const count = (record: SpendRecord) => {
    if (!limitAppliesTo(limit, record)) return;
    for (const allocation of record.allocations) {
      if (limit.kinds === null || limit.kinds.includes(allocation.kind)) spent += allocation.amount_micros;
    }
  };
  // Runs are never in the future, so everything from the window's start on is in it.
  for (const record of records) if (record.at_ms >= window.start_ms) count(record);
  for (const hold of holds) count(hold);
  return spent;
}

/** The quarter hour (spend bucket, SPEND_BUCKET_MS) an instant falls in: its start. */
export const spendBucketOf = (ms: number): number => Math.floor(ms / SPEND_BUCKET_MS) * SPEND_BUCKET_MS;

/** The start of the first whole quarter hour at or after `ms`. */
export const spendBucketAfter = (ms: number): number => Math.ceil(ms / SPEND_BUCKET_MS) * SPEND_BUCKET_MS;

/** What a run drew per kind of grant, kinds that drew nothing left out: a spend bucket's part of it. */
export function spentByKind(allocations: readonly Allocation[]): Map<string, bigint> {
  const by_kind = new Map<string, bigint>();
  for (const { kind, amount_micros } of allocations) {
    if (amount_micros !== 0n) by_kind.set(kind, (by_kind.get(kind) ?? 0n) + amount_micros);
  }
  return by_kind;
}
