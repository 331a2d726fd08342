import { describe, expect, it } from 'vitest';
import { DAY_MS } from './calendar.ts';
import { type AllowanceRule, allowanceExpiry, proratedMicros, proratedMoney } from './plans.ts';

const window = { start_ms: 10 * DAY_MS, end_ms: 40 * DAY_MS };
const rule = (expires: AllowanceRule['expires']): AllowanceRule => ({
  id: 'free',
  kind: 'free',
  amount_micros: 1n,
  period: 'monthly_anniversary',
  expires,
  rollover: { mode: 'none' },
  reset: false,
  requires_subscription: false,
});

describe('plans', () => {
  it('expires an allowance at its period end, N days after its period starts, or never', () => {
    expect(allowanceExpiry(rule({ at: 'period_end' }), window)).toBe(40 * DAY_MS);
    expect(allowanceExpiry(rule({ after_days: 30 }), window)).toBe(40 * DAY_MS);
    expect(allowanceExpiry(rule({ after_days: 7 }), window)).toBe(17 * DAY_MS);
    expect(allowanceExpiry(rule({ at: 'never' }), window)).toBeNull();
  });

  it('prorates an upgrade by the share of the cycle left: credits rounded down, money to the nearest cent', () => {
    const halfway = 25 * DAY_MS;
    expect(proratedMicros(10_000n, 1_000n, window, halfway)).toBe(4_500n);
    expect(proratedMicros(10_000n, 1_000n, window, 10 * DAY_MS + 1)).toBe(8_999n); // not 9,000: rounded down
    expect(proratedMicros(1_000n, 10_000n, window, halfway)).toBe(0n); // a downgrade owes nothing now
    expect(
      proratedMoney(
        { currency: 'USD', amount_minor: 9_000 },
        { currency: 'USD', amount_minor: 1_001 },
        window,
        halfway,
      ),
    ).toEqual({
      currency: 'USD',
      amount_minor: 4_000, // 7,999 / 2 = 3,999.5 → 4,000
    });
  });
});
