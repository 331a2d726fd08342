/**
 * Credits as people read them ("12.5") and as the ledger keeps them (12_500_000n micro-credits).
 */

import { parseDecimal, rescale } from './decimal.ts';
import { AMOUNT_MICROS_MAX, CREDIT_DECIMALS_MAX, MICROS_PER_CREDIT } from './limits.ts';

export type CreditsParse =
  | { ok: true; micros: bigint }
  | {
      ok: false;
      code: 'amount_invalid' | 'amount_too_precise' | 'amount_out_of_range' | 'amount_not_positive';
    };

/**
 * Parses an amount of credits given as a decimal string or a JSON integer. Amounts are
 * positive unless `allow_zero`; nothing above AMOUNT_MICROS_MAX is accepted.
 */
export function parseCredits(input: string | number, options: { allow_zero?: boolean } = {}): CreditsParse {
  const parsed = parseDecimal(input, CREDIT_DECIMALS_MAX);
  if (!parsed.ok)
    return { ok: false, code: parsed.reason === 'too_precise' ? 'amount_too_precise' : 'amount_invalid' };
  const micros = rescale(parsed.value, 6);
  if (micros < 0n || (micros === 0n && !options.allow_zero))
    return { ok: false, code: 'amount_not_positive' };
  if (micros > AMOUNT_MICROS_MAX) return { ok: false, code: 'amount_out_of_range' };
  return { ok: true, micros };
}

/** 12_500_000n → "12.5"; -1n → "-0.000001". */
export function formatCredits(micros: bigint): string {
  const negative = micros < 0n;
  const magnitude = negative ? -micros : micros;
  const whole = magnitude / MICROS_PER_CREDIT;
  const fraction = (magnitude % MICROS_PER_CREDIT).toString().padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Whole credits to micro-credits, for code and tests that deal in round numbers. */
export function creditsToMicros(credits: number | bigint): bigint {
  return BigInt(credits) * MICROS_PER_CREDIT;
}
