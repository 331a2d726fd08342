import { describe, expect, it } from 'vitest';
import { divideRounded, formatDecimal, parseDecimal, rescale } from './decimal.ts';

describe('exact decimals', () => {
  it('parses decimal text and JSON numbers exactly, and refuses over-precise or unreadable ones alike', () => {
    expect(parseDecimal('0.000015', 12)).toEqual({ ok: true, value: { units: 15n, scale: 6 } });
    expect(parseDecimal('1.500', 1)).toEqual({ ok: true, value: { units: 15n, scale: 1 } });
    expect(parseDecimal('-3', 0)).toEqual({ ok: true, value: { units: -3n, scale: 0 } });
    expect(parseDecimal(42, 0)).toEqual({ ok: true, value: { units: 42n, scale: 0 } });
    // A JSON number reads as the shortest decimal that is it: what its sender wrote.
    expect(parseDecimal(0.1, 6)).toEqual({ ok: true, value: { units: 1n, scale: 1 } });
    expect(parseDecimal(6.5, 6)).toEqual({ ok: true, value: { units: 65n, scale: 1 } });
    expect(parseDecimal(1.5e-5, 6)).toEqual({ ok: true, value: { units: 15n, scale: 6 } });
    expect(parseDecimal(1e-7, 6)).toEqual({ ok: false, reason: 'too_precise' });
    expect(parseDecimal(0.1234567, 6)).toEqual({ ok: false, reason: 'too_precise' });
    expect(parseDecimal(0.1 + 0.2, 6)).toEqual({ ok: false, reason: 'too_precise' });
    expect(parseDecimal(2 ** 60, 6)).toEqual({ ok: false, reason: 'not_a_number' });
    expect(parseDecimal(Number.NaN, 6)).toEqual({ ok: false, reason: 'not_a_number' });
    expect(parseDecimal('1e3', 6)).toEqual({ ok: false, reason: 'not_a_number' });
    expect(parseDecimal('0.0000001', 6)).toEqual({ ok: false, reason: 'too_precise' });
  });

  it('formats without trailing zeros and rescales without losing precision', () => {
    expect(formatDecimal({ units: 1500n, scale: 3 })).toBe('1.5');
    expect(formatDecimal({ units: -5n, scale: 2 })).toBe('-0.05');
    expect(rescale({ units: 15n, scale: 1 }, 6)).toBe(1_500_000n);
    expect(() => rescale({ units: 15n, scale: 3 }, 1)).toThrow();
  });

  it('rounds a quotient up, down or to the nearest (halves up)', () => {
    expect([
      divideRounded(7n, 2n, 'up'),
      divideRounded(7n, 2n, 'down'),
      divideRounded(7n, 2n, 'nearest'),
    ]).toEqual([4n, 3n, 4n]);
    expect(divideRounded(6n, 4n, 'nearest')).toBe(2n);
    expect(divideRounded(5n, 4n, 'nearest')).toBe(1n);
    expect(divideRounded(8n, 4n, 'up')).toBe(2n);
    expect(() => divideRounded(1n, 0n, 'up')).toThrow();
  });
});
