import { describe, expect, it } from 'vitest';
import {
  discountBasisPoints,
  type Pack,
  packPrice,
  percentOf,
  proRataMicros,
  smallestPackCovering,
  unitPrice,
} from './packs.ts';

const M = 1_000_000n;
const pack = (id: string, credits: bigint, usd_minor: bigint, extra: Partial<Pack> = {}): Pack => ({
  id,
  name: id,
  credits_micros: credits * M,
  kind: 'purchased',
  expires_after_days: null,
  price_minor: new Map([['USD', usd_minor]]),
  bonus: null,
  volume_tiers: [],
  refund_policy: 'clamp',
  ...extra,
});

describe('pack prices', () => {
  it('gives the unit price per credit exactly, rounded only where it does not terminate', () => {
    expect(unitPrice(1000n, 1000n * M, 2)).toBe('0.01');
    expect(unitPrice(4500n, 5000n * M, 2)).toBe('0.009');
    // 10 dollars for 3 credits: 3.333333… rounds to six decimals.
    expect(unitPrice(1000n, 3n * M, 2)).toBe('3.333333');
    // Yen have no minor unit.
    expect(unitPrice(1500n, 1000n * M, 0)).toBe('1.5');
  });

  it('rounds a discount down, so a pack is never shown as a better deal than it is', () => {
    // 1000 for $10, 5000 for $45: 10 % off.
    expect(percentOf(discountBasisPoints(4500n, 5000n * M, 1000n, 1000n * M))).toBe('10');
    // 3000 for $29: 3.333… % off → 3.33.
    expect(percentOf(discountBasisPoints(2900n, 3000n * M, 1000n, 1000n * M))).toBe('3.33');
    // Dearer than the base: a negative discount.
    expect(percentOf(discountBasisPoints(1100n, 1000n * M, 1000n, 1000n * M))).toBe('-10');
  });

  it('prices a quantity at the highest volume tier it reaches', () => {
    const tiered = pack('pro', 1000n, 1000n, {
      volume_tiers: [
        { from_quantity: 5, price_minor: new Map([['USD', 900n]]) },
        { from_quantity: 10, price_minor: new Map([['USD', 800n]]) },
      ],
    });
    expect(packPrice(tiered, 'USD', 4)).toEqual({ each_minor: 1000n, total_minor: 4000n, from_quantity: 1 });
    expect(packPrice(tiered, 'USD', 5)).toEqual({ each_minor: 900n, total_minor: 4500n, from_quantity: 5 });
    expect(packPrice(tiered, 'USD', 12)?.total_minor).toBe(9600n);
    expect(packPrice(tiered, 'EUR', 1)).toBeUndefined();
  });

  it('finds the smallest pack that brings a balance back above its threshold', () => {
    const packs = [pack('big', 5000n, 4500n), pack('small', 1000n, 1000n), pack('mid', 2000n, 1900n)];
    expect(smallestPackCovering(packs, 'USD', 1500n * M)?.id).toBe('mid');
    expect(smallestPackCovering(packs, 'USD', 10n * M)?.id).toBe('small');
    // Nothing is enough: the largest.
    expect(smallestPackCovering(packs, 'USD', 9000n * M)?.id).toBe('big');
    expect(smallestPackCovering(packs, 'EUR', 10n * M)).toBeUndefined();
  });

  it('takes back the refunded fraction of a grant, rounded down', () => {
    expect(proRataMicros(1000n * M, 500n, 1000n)).toBe(500n * M);
    expect(proRataMicros(1000n * M, 1000n, 1000n)).toBe(1000n * M);
    expect(proRataMicros(1n, 1n, 3n)).toBe(0n);
  });
});
