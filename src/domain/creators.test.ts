import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { creatorShareMicros, reversedShareMicros } from './creators.ts';
import type { CreatorShare } from './pricing.ts';

const ten_percent = (basis: CreatorShare['basis']): CreatorShare => ({
  basis,
  rate: { units: 10n, scale: 2 },
});

describe('creator share', () => {
  it('carves 10 % out of the cost, rounded down to the micro-credit', () => {
    expect(creatorShareMicros(ten_percent('cost'), 50_000_000n)).toBe(5_000_000n);
    expect(creatorShareMicros(ten_percent('cost'), 19n)).toBe(1n);
    expect(creatorShareMicros(ten_percent('cost'), 0n)).toBe(0n);
  });

  it('takes the premium on top: of a charge of 1.1 × cost the creator gets the 0.1', () => {
    expect(creatorShareMicros(ten_percent('premium'), 55_000_000n)).toBe(5_000_000n);
    // 1 micro-credit charged: the premium of it rounds down to nothing.
    expect(creatorShareMicros(ten_percent('premium'), 1n)).toBe(0n);
  });

  it('never gives the creator more than the charge, and the platform keeps under a micro-credit of rounding', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom<CreatorShare['basis']>('cost', 'premium'),
        (charge, rate_millionths, basis) => {
          const share = creatorShareMicros(
            { basis, rate: { units: BigInt(rate_millionths), scale: 6 } },
            charge,
          );
          expect(share >= 0n && share <= charge).toBe(true);
          const exact_numerator = charge * BigInt(rate_millionths);
          const denominator = basis === 'cost' ? 1_000_000n : 1_000_000n + BigInt(rate_millionths);
          expect(exact_numerator - share * denominator).toBeLessThan(denominator);
        },
      ),
    );
  });

  it('reverses pro rata, and the refund that empties the charge takes back the rest', () => {
    const charge = { credits_micros: 30n, refunded_micros: 0n };
    const creator = { share_micros: 3n, reversed_micros: 0n };
    expect(reversedShareMicros(charge, creator, 10n)).toBe(1n);
    expect(
      reversedShareMicros(
        { credits_micros: 30n, refunded_micros: 20n },
        { share_micros: 3n, reversed_micros: 2n },
        10n,
      ),
    ).toBe(1n);
    // 3 refunds of 1 of a charge of 7 with a share of 2: pro rata rounds to 0 until the last.
    expect(
      reversedShareMicros(
        { credits_micros: 7n, refunded_micros: 6n },
        { share_micros: 2n, reversed_micros: 0n },
        1n,
      ),
    ).toBe(2n);
  });
});
