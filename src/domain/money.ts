/**
 * Credit value and money (SPEC §1): what a credit is worth in a currency, and the money
 * equivalent of an amount of credits, shown beside every cost.
 */
import { type Decimal, divideRounded, formatDecimal, parseDecimal, pow10 } from './decimal.ts';
import { RATE_DECIMALS_MAX } from './limits.ts';

export interface CreditValue {
  currency: string;
  /** Money one credit is worth, in the currency's minor unit (1 = one US cent). */
  amount_minor_per_credit: Decimal;
}

export interface Money {
  currency: string;
  /** Rounded to the nearest minor unit. */
  amount_minor: number;
  /** Exact, in major units ("0.0109" dollars). */
  amount: string;
}

/** Building an Intl formatter is costly and the answer never changes: one look-up per currency. */
const exponents = new Map<string, number | undefined>();

/** Digits of the currency's minor unit (USD 2, JPY 0), or undefined when Intl does not know the code. */
export function currencyExponent(currency: string): number | undefined {
  if (exponents.has(currency)) return exponents.get(currency);
  let exponent: number | undefined;
  if (/^[A-Z]{3}$/.test(currency)) {
    try {
      exponent = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits;
    } catch {
      exponent = undefined;
    }
  }
  exponents.set(currency, exponent);
  return exponent;
}

export function moneyFor(micros: bigint, value: CreditValue): Money {
  const exponent = currencyExponent(value.currency) ?? 2;
  // micros × minor-per-credit / 10^6 minor units, exactly.
  const minor_units = micros * value.amount_minor_per_credit.units;
  const minor_scale = 6 + value.amount_minor_per_credit.scale;
  const negative = minor_units < 0n;
  const magnitude = negative ? -minor_units : minor_units;
  const amount_minor = Number(divideRounded(magnitude, pow10(minor_scale), 'nearest')) * (negative ? -1 : 1);
  return {
    currency: value.currency,
    amount_minor,
    amount: formatDecimal({ units: minor_units, scale: minor_scale + exponent }),
  };
}

/**
 * A rate in credits per unit derived from a provider's price: price ÷ per_units × markup ÷
 * credit value, rounded up to RATE_DECIMALS_MAX decimals (the operator never undercharges the
 * provider's price by rounding). The derived rate is what the price book shows.
 */
export function deriveRate(
  price_major: Decimal,
  per_units: number,
  markup: Decimal,
  value: CreditValue,
): Decimal {
  const exponent = currencyExponent(value.currency) ?? 2;
  // rate = price × markup × 10^exponent / (per_units × minor_per_credit), all as integers over powers of ten.
  const numerator =
    price_major.units *
    markup.units *
    pow10(exponent) *
    pow10(value.amount_minor_per_credit.scale) *
    pow10(RATE_DECIMALS_MAX);
  const denominator =
    BigInt(per_units) * value.amount_minor_per_credit.units * pow10(price_major.scale + markup.scale);
  const units = divideRounded(numerator, denominator, 'up');
  return normalize({ units, scale: RATE_DECIMALS_MAX });
}

/** Drops trailing zeros: 0.000250000000 → 0.00025. */
export function normalize(value: Decimal): Decimal {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  return { units, scale };
}

/**
 * Money written in major units ("9.99", 10) as minor units of `currency` (999), or undefined when
 * it is not a positive amount with at most the currency's minor digits.
 */
export function parseMinorUnits(amount: string | number, currency: string): bigint | undefined {
  const exponent = currencyExponent(currency) ?? 2;
  const parsed = parseDecimal(amount, exponent);
  if (!parsed.ok || parsed.value.units <= 0n) return undefined;
  return parsed.value.units * pow10(exponent - parsed.value.scale);
}
