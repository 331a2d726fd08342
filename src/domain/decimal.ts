/**
 * Exact decimals as `units / 10^scale` with bigint units: rates such as 0.000015 credits per
 * token, usage such as 4.5 seconds, credit amounts. No float ever touches them.
 */
import { assert } from './assert.ts';

export interface Decimal {
  units: bigint;
  scale: number;
}

export type DecimalParse =
  | { ok: true; value: Decimal }
  | { ok: false; reason: 'not_a_number' | 'too_precise' };

const DECIMAL_PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Parses `"12.5"`, `"-3"`, `"0.000015"`; a JS number is accepted only if it is an integer. */
export function parseDecimal(input: string | number | bigint, scale_max: number): DecimalParse {
  if (typeof input === 'bigint') return { ok: true, value: { units: input, scale: 0 } };
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input)) return { ok: true, value: { units: BigInt(input), scale: 0 } };
    // A whole number past 2^53 has already lost digits; so has any number that is not finite.
    if (!Number.isFinite(input) || Number.isInteger(input)) return { ok: false, reason: 'not_a_number' };
    // A fraction is read as the shortest decimal that is this number: what the sender wrote.
    return parseDecimal(plainDecimal(input), scale_max);
  }
  const match = DECIMAL_PATTERN.exec(input);
  if (!match) return { ok: false, reason: 'not_a_number' };
  const [, sign, whole, fraction = ''] = match;
  // Trailing zeros carry no precision: "1.500" is as exact as "1.5".
  const fraction_trimmed = fraction.replace(/0+$/, '');
  if (fraction_trimmed.length > scale_max) return { ok: false, reason: 'too_precise' };
  const units = BigInt(`${whole}${fraction_trimmed}`);
  return { ok: true, value: { units: sign === '-' ? -units : units, scale: fraction_trimmed.length } };
}

/** A finite number's shortest decimal, without an exponent: 1e-7 → "0.0000001". */
function plainDecimal(value: number): string {
  const text = String(value);
  const exponent = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exponent) return text;
  const [, sign, whole, fraction = '', power] = exponent;
  const digits = `${whole}${fraction}`;
  const point = whole!.length + Number(power);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

export function pow10(exponent: number): bigint {
  assert(exponent >= 0 && Number.isInteger(exponent), `pow10 of ${exponent}`);
  return 10n ** BigInt(exponent);
}

/** The same value expressed with a larger scale (never loses precision). */
export function rescale(value: Decimal, scale: number): bigint {
  assert(scale >= value.scale, `rescale ${value.scale} → ${scale} would lose precision`);
  return value.units * pow10(scale - value.scale);
}

export function formatDecimal(value: Decimal): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

export type RoundingMode = 'up' | 'down' | 'nearest';

/** numerator / denominator rounded to an integer; `nearest` rounds halves up (away from zero for positives). */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  assert(denominator > 0n, 'division by a non-positive denominator');
  assert(numerator >= 0n, 'rounding is defined for non-negative amounts only');
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n || mode === 'down') return quotient;
  if (mode === 'up') return quotient + 1n;
  return remainder * 2n >= denominator ? quotient + 1n : quotient;
}

export function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
