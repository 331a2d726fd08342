import { describe, expect, it } from 'vitest';
import { parseDecimal } from './decimal.ts';
import { currencyExponent, deriveRate, moneyFor } from './money.ts';

const decimal = (text: string) =>
  (parseDecimal(text, 12) as { ok: true; value: { units: bigint; scale: number } }).value;
const cent = { currency: 'USD', amount_minor_per_credit: decimal('1') };

describe('money', () => {
  it('shows the money equivalent exactly, and rounded to the minor unit', () => {
    expect(moneyFor(1_090_000n, cent)).toEqual({ currency: 'USD', amount_minor: 1, amount: '0.0109' });
    expect(moneyFor(150_000_000n, cent)).toEqual({ currency: 'USD', amount_minor: 150, amount: '1.5' });
    expect(moneyFor(1_000_000n, { currency: 'USD', amount_minor_per_credit: decimal('0.1') })).toMatchObject({
      amount: '0.001',
    });
    expect(moneyFor(3_000_000n, { currency: 'JPY', amount_minor_per_credit: decimal('2') })).toEqual({
      currency: 'JPY',
      amount_minor: 6,
      amount: '6',
    });
  });

  it('knows minor units per currency and refuses unknown codes', () => {
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('usd')).toBeUndefined();
  });

  it('derives rates from provider prices, rounding up only what does not terminate', () => {
    // USD 2.50 per million tokens, 1 credit = 1 cent → 0.00025 credits per token.
    expect(deriveRate(decimal('2.50'), 1_000_000, decimal('1'), cent)).toEqual({ units: 25n, scale: 5 });
    // With a 1.2 markup → 0.0003.
    expect(deriveRate(decimal('2.50'), 1_000_000, decimal('1.2'), cent)).toEqual({ units: 3n, scale: 4 });
    // 1 credit = 3 cents: 1 / 3 cents → 0.333…3334 credits, up at 12 decimals.
    expect(
      deriveRate(decimal('0.01'), 1, decimal('1'), {
        currency: 'USD',
        amount_minor_per_credit: decimal('3'),
      }),
    ).toEqual({
      units: 333_333_333_334n,
      scale: 12,
    });
  });
});
