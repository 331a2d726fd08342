import { describe, expect, it } from 'vitest';
import { computeBalance, type GrantForBalance, grantState } from './balance.ts';

const T = 1_000_000;
const grant = (id: string, overrides: Partial<GrantForBalance> = {}): GrantForBalance => ({
  id,
  kind: 'bonus',
  remaining_micros: 10n,
  effective_at_ms: T,
  expires_at_ms: null,
  status: 'active',
  requires_subscription: false,
  ...overrides,
});

describe('the balance at an instant', () => {
  it('counts a grant only while it is in force, whatever the stored status says', () => {
    const expiring = grant('g', { expires_at_ms: T + 10 });
    expect([grantState(expiring, T - 1), grantState(expiring, T), grantState(expiring, T + 10)]).toEqual([
      'pending',
      'active',
      'expired',
    ]);
    expect(computeBalance([expiring], [], ['bonus'], T + 10).available_micros).toBe(0n);
  });

  it("gives back what a lapsed reservation holds, keeps a live one's as held, and shows premium credits as unusable", () => {
    const grants = [grant('a'), grant('p', { kind: 'subscription', requires_subscription: true })];
    const held = [
      {
        id: 'live',
        expires_at_ms: T + 100,
        allocations: [{ grant_id: 'a', kind: 'bonus', amount_micros: 3n }],
      },
      { id: 'lapsed', expires_at_ms: T, allocations: [{ grant_id: 'a', kind: 'bonus', amount_micros: 2n }] },
    ];
    const balance = computeBalance(grants, held, ['subscription', 'bonus'], T);
    expect([balance.available_micros, balance.held_micros]).toEqual([12n, 3n]);
    expect(balance.by_kind.get('subscription')).toEqual({
      available_micros: 0n,
      held_micros: 0n,
      unusable_micros: 10n,
    });
    expect(computeBalance(grants, held, ['subscription', 'bonus'], T, true).available_micros).toBe(22n);
  });

  it('names the soonest expiry and everything that expires then', () => {
    const grants = [
      grant('a', { expires_at_ms: T + 50 }),
      grant('b', { expires_at_ms: T + 50, remaining_micros: 5n }),
      grant('c', { expires_at_ms: T + 90 }),
    ];
    expect(computeBalance(grants, [], ['bonus'], T).next_expiry).toEqual({
      amount_micros: 15n,
      at_ms: T + 50,
    });
  });
});
