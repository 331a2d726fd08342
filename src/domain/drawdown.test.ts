import { describe, expect, it } from 'vitest';
import { type DrawableGrant, planDraw, splitSettlement } from './drawdown.ts';

const NOW = 1_000_000;
const grant = (id: string, overrides: Partial<DrawableGrant>): DrawableGrant => ({
  id,
  kind: 'bonus',
  priority: 4,
  available_micros: 100n,
  effective_at_ms: 0,
  expires_at_ms: null,
  created_at_ms: 0,
  allowed_operations: null,
  ...overrides,
});

describe('draw-down order', () => {
  it('draws by priority, then soonest expiry (never last), then oldest', () => {
    const grants = [
      grant('bonus-never', { priority: 4, created_at_ms: 1 }),
      grant('bonus-later', { priority: 4, expires_at_ms: NOW + 500 }),
      grant('bonus-sooner', { priority: 4, expires_at_ms: NOW + 100 }),
      grant('bonus-never-older', { priority: 4, created_at_ms: 0 }),
      grant('daily', { priority: 0, kind: 'daily', expires_at_ms: NOW + 900 }),
    ];
    const plan = planDraw(grants, 'chat', 450n, NOW);
    expect(plan.ok && plan.allocations.map((allocation) => allocation.grant_id)).toEqual([
      'daily',
      'bonus-sooner',
      'bonus-later',
      'bonus-never-older',
      'bonus-never',
    ]);
    expect(plan.ok && plan.allocations.at(-1)?.amount_micros).toBe(50n);
  });

  it('skips grants not yet effective, already expired, or restricted to other operations', () => {
    const grants = [
      grant('future', { priority: 0, effective_at_ms: NOW + 1 }),
      grant('expired', { priority: 0, expires_at_ms: NOW }),
      grant('images-only', { priority: 1, allowed_operations: ['image.*'] }),
      grant('chat-ok', { priority: 2, allowed_operations: ['chat.*'] }),
    ];
    const plan = planDraw(grants, 'chat.fast', 100n, NOW);
    expect(plan.ok && plan.allocations.map((allocation) => allocation.grant_id)).toEqual(['chat-ok']);
    const short = planDraw(grants, 'chat.fast', 150n, NOW);
    expect(short).toEqual({
      ok: false,
      available_micros: 100n,
      skipped: [{ grant_id: 'images-only', kind: 'bonus', reason: 'restricted', available_micros: 100n }],
      capped_by: [],
    });
  });

  it('takes no more from capped kinds than the cap leaves, and goes on to other kinds', () => {
    const grants = [
      grant('free', { priority: 1, kind: 'free', available_micros: 2_000n }),
      grant('bought', { priority: 5, kind: 'purchased' }),
    ];
    const daily_cap = { id: 'free_daily', kinds: ['free'], headroom_micros: 30n };
    const plan = planDraw(grants, 'chat', 80n, NOW, [daily_cap]);
    expect(
      plan.ok && plan.allocations.map((allocation) => [allocation.grant_id, allocation.amount_micros]),
    ).toEqual([
      ['free', 30n],
      ['bought', 50n],
    ]);
    const only_free = planDraw([grants[0]!], 'chat', 80n, NOW, [daily_cap]);
    expect(only_free).toMatchObject({ ok: false, available_micros: 30n, capped_by: ['free_daily'] });
    const spent_cap = planDraw(grants, 'chat', 120n, NOW, [
      { id: 'budget', kinds: null, headroom_micros: 100n },
    ]);
    expect(spent_cap).toMatchObject({ ok: false, available_micros: 100n, capped_by: ['budget'] });
    const exhausted = planDraw(grants, 'chat', 10n, NOW, [
      { id: 'budget', kinds: null, headroom_micros: -5n },
    ]);
    expect(exhausted).toMatchObject({ ok: false, available_micros: 0n, capped_by: ['budget'] });
  });

  it('settles from the first-drawn grants and returns the rest to the last ones', () => {
    const held = [
      { grant_id: 'daily', kind: 'daily', amount_micros: 50n },
      { grant_id: 'sub', kind: 'subscription', amount_micros: 70n },
    ];
    expect(splitSettlement(held, 60n)).toEqual({
      used: [
        { grant_id: 'daily', kind: 'daily', amount_micros: 50n },
        { grant_id: 'sub', kind: 'subscription', amount_micros: 10n },
      ],
      unused: [{ grant_id: 'sub', kind: 'subscription', amount_micros: 60n }],
    });
    expect(() => splitSettlement(held, 121n)).toThrow(/invariant/);
  });
});
