/**
 * Forecasts (SPEC C5): typical usage from an account's history, how many runs a balance
 * covers, runway at the recent burn rate. Pure: history and balances come in as arguments.
 */
import { type Decimal, parseDecimal, rescale } from './decimal.ts';
import { type DrawableGrant, drawOrder } from './drawdown.ts';
import { USAGE_DECIMALS_MAX } from './limits.ts';

/**
 * The typical usage of past runs: per dimension, the median quantity (the lower middle one
 * when the count is even, so it is always a quantity some run really had).
 */
export function medianUsage(usages: readonly Record<string, string>[]): Map<string, Decimal> {
  const by_dimension = new Map<string, Decimal[]>();
  for (const usage of usages) {
    for (const [dimension, quantity] of Object.entries(usage)) {
      const parsed = parseDecimal(quantity, USAGE_DECIMALS_MAX);
      if (!parsed.ok) continue;
      const list = by_dimension.get(dimension) ?? [];
      list.push(parsed.value);
      by_dimension.set(dimension, list);
    }
  }
  const median = new Map<string, Decimal>();
  for (const [dimension, quantities] of by_dimension) {
    // Runs that did not report a dimension used none of it.
    const padded = [...quantities, ...Array(usages.length - quantities.length).fill({ units: 0n, scale: 0 })];
    padded.sort((a, b) => {
      const difference = rescale(a, USAGE_DECIMALS_MAX) - rescale(b, USAGE_DECIMALS_MAX);
      return difference < 0n ? -1 : difference > 0n ? 1 : 0;
    });
    median.set(dimension, padded[Math.floor((padded.length - 1) / 2)]!);
  }
  return median;
}

/** Credits the account could spend on `operation` now: its usable grants that may pay for it. */
export function usableFor(grants: readonly DrawableGrant[], operation: string, now_ms: number): bigint {
  return drawOrder(grants, operation, now_ms).reduce((sum, grant) => sum + grant.available_micros, 0n);
}

/** Whole runs of `cost_micros` the balance covers; null when a run costs nothing (unlimited). */
export function runsAffordable(usable_micros: bigint, cost_micros: bigint): bigint | null {
  if (cost_micros <= 0n) return null;
  return usable_micros / cost_micros;
}

/** Days the balance lasts at the average daily spend; null when nothing was spent. One decimal, rounded down. */
export function runwayDays(usable_micros: bigint, spent_micros: bigint, window_days: number): string | null {
  if (spent_micros <= 0n) return null;
  // usable ÷ (spent ÷ window) in tenths of a day.
  const tenths = (usable_micros * BigInt(window_days) * 10n) / spent_micros;
  return `${tenths / 10n}.${tenths % 10n}`;
}
