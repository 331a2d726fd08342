import { describe, expect, it } from 'vitest';
import type { LimitRule } from './plans.ts';
import { limitAppliesTo, limitWindow, spentUnder } from './spending.ts';

const limit = (overrides: Partial<LimitRule>): LimitRule => ({
  id: 'cap',
  window: 'day',
  max_micros: 100n,
  kinds: null,
  operations: null,
  member: null,
  project: null,
  api_key: null,
  ...overrides,
});
const run = (
  at_ms: number,
  kind: string,
  amount: bigint,
  operation = 'chat.fast',
  member: string | null = null,
) => ({
  at_ms,
  operation,
  member,
  project: null,
  api_key: null,
  allocations: [{ grant_id: 'g', kind, amount_micros: amount }],
});

describe('limits in use', () => {
  const window = { start_ms: 1_000, end_ms: 2_000 };

  it("counts spend of the limit's kinds inside the window, plus what is held now", () => {
    const free_cap = limit({ kinds: ['free'] });
    const records = [
      run(999, 'free', 50n),
      run(1_000, 'free', 30n),
      run(1_500, 'purchased', 70n),
      run(1_900, 'free', 5n),
    ];
    expect(spentUnder(free_cap, window, records, [run(0, 'free', 7n)])).toBe(42n);
    expect(spentUnder(limit({}), window, records, [])).toBe(105n);
  });

  it('applies to the operations, member and project it names', () => {
    const images = limit({ operations: ['image.*'], member: 'dev-1' });
    expect(
      limitAppliesTo(images, { operation: 'image.standard', member: 'dev-1', project: null, api_key: null }),
    ).toBe(true);
    expect(
      limitAppliesTo(images, { operation: 'image.standard', member: 'dev-2', project: null, api_key: null }),
    ).toBe(false);
    expect(
      limitAppliesTo(images, { operation: 'chat.fast', member: 'dev-1', project: null, api_key: null }),
    ).toBe(false);
    expect(
      spentUnder(
        images,
        window,
        [run(1_100, 'free', 9n, 'image.standard', 'dev-1'), run(1_100, 'free', 9n)],
        [],
      ),
    ).toBe(9n);
  });

  it('measures calendar windows in the account timezone, and rolling ones back from now', () => {
    const now = Date.parse('2027-06-10T05:00:00Z');
    expect(limitWindow(limit({ window: 'day' }), now, 'America/New_York', null)).toEqual({
      start_ms: Date.parse('2027-06-10T04:00:00Z'),
      end_ms: Date.parse('2027-06-11T04:00:00Z'),
    });
    expect(limitWindow(limit({ window: 'rolling_24h' }), now, 'UTC', null)).toEqual({
      start_ms: now - 86_400_000,
      end_ms: now,
    });
    const cycle = { start_ms: 5, end_ms: 10 };
    expect(limitWindow(limit({ window: 'billing_cycle' }), now, 'UTC', cycle)).toBe(cycle);
  });
});
