import { describe, expect, it } from 'vitest';
import { formatCredits, parseCredits } from './credits.ts';
import { divideRounded, formatDecimal, parseDecimal } from './decimal.ts';

describe('credits', () => {
  it('parses decimal strings and JSON integers into exact micro-credits', () => {
    expect(parseCredits('12.5')).toEqual({ ok: true, micros: 12_500_000n });
    expect(parseCredits('0.000001')).toEqual({ ok: true, micros: 1n });
    expect(parseCredits(7)).toEqual({ ok: true, micros: 7_000_000n });
    expect(parseCredits('1.500000000')).toEqual({ ok: true, micros: 1_500_000n });
  });

  it('refuses what is not a positive amount of at most 6 decimals within range', () => {
    expect(parseCredits('-1')).toEqual({ ok: false, code: 'amount_not_positive' });
    expect(parseCredits('0')).toEqual({ ok: false, code: 'amount_not_positive' });
    expect(parseCredits('0', { allow_zero: true })).toEqual({ ok: true, micros: 0n });
    expect(parseCredits('0.0000001')).toEqual({ ok: false, code: 'amount_too_precise' });
    expect(parseCredits('1e3')).toEqual({ ok: false, code: 'amount_invalid' });
    expect(parseCredits('abc')).toEqual({ ok: false, code: 'amount_invalid' });
    // A JSON number gets the same precise answers as the string it reads as.
    expect(parseCredits(1.5)).toEqual({ ok: true, micros: 1_500_000n });
    expect(parseCredits(0.0000001)).toEqual({ ok: false, code: 'amount_too_precise' });
    expect(parseCredits(-2.5)).toEqual({ ok: false, code: 'amount_not_positive' });
    expect(parseCredits('9223372036854.775808')).toEqual({ ok: false, code: 'amount_out_of_range' });
    expect(parseCredits('1000000000.000001')).toEqual({ ok: false, code: 'amount_out_of_range' });
    expect(parseCredits('1000000000')).toEqual({ ok: true, micros: 1_000_000_000_000_000n });
  });

  it('formats micro-credits without trailing zeros', () => {
    expect(formatCredits(12_500_000n)).toBe('12.5');
    expect(formatCredits(1n)).toBe('0.000001');
    expect(formatCredits(-3_000_000n)).toBe('-3');
    expect(formatCredits(0n)).toBe('0');
  });
});

describe('decimals', () => {
  it('round-trips and rounds exactly', () => {
    const parsed = parseDecimal('0.000015', 12);
    expect(parsed).toEqual({ ok: true, value: { units: 15n, scale: 6 } });
    expect(formatDecimal({ units: 15n, scale: 6 })).toBe('0.000015');
    expect(divideRounded(10n, 4n, 'up')).toBe(3n);
    expect(divideRounded(10n, 4n, 'down')).toBe(2n);
    expect(divideRounded(10n, 4n, 'nearest')).toBe(3n);
    expect(divideRounded(9n, 4n, 'nearest')).toBe(2n);
    expect(divideRounded(8n, 4n, 'up')).toBe(2n);
  });
});
