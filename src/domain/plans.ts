/**
 * Allowances, limits and plans (SPEC C7, C8) as the engine uses them once compiled from
 * configuration. Pure data and the few rules that need no I/O: how much of an allowance an
 * upgrade owes for the rest of a cycle, and when a grant from an allowance expires.
 */
import type { Period, Window } from './calendar.ts';
import { DAY_MS } from './calendar.ts';
import { divideRounded } from './decimal.ts';

/** Where a limit's window comes from; `rolling_24h` ends now and starts 24 hours before. */
export type LimitWindow = 'day' | 'week' | 'month' | 'billing_cycle' | 'rolling_24h';

export type Rollover =
  | { mode: 'none' }
  | { mode: 'full' }
  | { mode: 'capped'; max_micros: bigint; max_periods: number | null };

export type AllowanceExpiry = { at: 'period_end' } | { after_days: number } | { at: 'never' };

export interface AllowanceRule {
  id: string;
  kind: string;
  amount_micros: bigint;
  period: Period;
  expires: AllowanceExpiry;
  rollover: Rollover;
  /** Issuing the next grant expires what is left of the previous one. */
  reset: boolean;
  /** Premium credits: usable only while the account has an active subscription. */
  requires_subscription: boolean;
}

export interface LimitRule {
  id: string;
  window: LimitWindow;
  max_micros: bigint;
  /** Only credits of these kinds count and are capped; null for all. */
  kinds: string[] | null;
  /** Only these operations (`chat.*` by prefix); null for all. */
  operations: string[] | null;
  /** Only runs of this member (team accounts), project or API key; null for every run. */
  member: string | null;
  project: string | null;
  api_key: string | null;
}

export interface Money {
  currency: string;
  amount_minor: number;
}

export interface Plan {
  id: string;
  name: string;
  price: Money;
  /** Higher ranks are upgrades (take effect at once), lower ones downgrades (at period end). */
  rank: number;
  allowances: AllowanceRule[];
  limits: LimitRule[];
  entitlements: string[];
}

/** When a grant issued for `window` by this allowance expires; null for never. */
export function allowanceExpiry(rule: AllowanceRule, window: Window): number | null {
  if ('after_days' in rule.expires) return window.start_ms + rule.expires.after_days * DAY_MS;
  return rule.expires.at === 'never' ? null : window.end_ms;
}

/**
 * What an upgrade owes now for the rest of the cycle: the difference in the allowance, times the
 * share of the cycle left, rounded down to the micro-credit. Never negative.
 */
export function proratedMicros(
  new_amount_micros: bigint,
  old_amount_micros: bigint,
  window: Window,
  now_ms: number,
): bigint {
  const difference = new_amount_micros - old_amount_micros;
  const left_ms = BigInt(Math.max(0, window.end_ms - now_ms));
  const length_ms = BigInt(window.end_ms - window.start_ms);
  if (difference <= 0n || length_ms === 0n) return 0n;
  return (difference * left_ms) / length_ms;
}

/** The money side of an upgrade: the price difference times the share of the cycle left, to the nearest minor unit. */
export function proratedMoney(
  new_price: Money,
  old_price: Money | null,
  window: Window,
  now_ms: number,
): Money {
  const difference = BigInt(new_price.amount_minor - (old_price?.amount_minor ?? 0));
  const left_ms = BigInt(Math.max(0, window.end_ms - now_ms));
  const length_ms = BigInt(window.end_ms - window.start_ms);
  const amount =
    difference <= 0n || length_ms === 0n ? 0n : divideRounded(difference * left_ms, length_ms, 'nearest');
  return { currency: new_price.currency, amount_minor: Number(amount) };
}
