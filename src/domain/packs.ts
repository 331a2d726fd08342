/**
 * Credit packs (SPEC C9): what a pack costs at a quantity, its unit price per credit and its
 * discount against the base pack, computed exactly from integers. Shown prices round once, at
 * the end, and a discount is rounded down: a pack is never shown as a better deal than it is.
 */
import { divideRounded, formatDecimal, pow10 } from './decimal.ts';
import { MICROS_PER_CREDIT, UNIT_PRICE_DECIMALS } from './limits.ts';

/** From `from_quantity` packs in one purchase, each costs `price_minor` instead. */
export interface VolumeTier {
  from_quantity: number;
  /** The price of one pack at this tier, by currency, in minor units. */
  price_minor: ReadonlyMap<string, bigint>;
}

export interface PackBonus {
  credits_micros: bigint;
  kind: string;
  expires_after_days: number | null;
}

export interface Pack {
  id: string;
  name: string;
  credits_micros: bigint;
  /** The kind of the grant a purchase issues (default `purchased`). */
  kind: string;
  /** Purchased credits never expire unless the pack says so. */
  expires_after_days: number | null;
  /** The price of one pack, by currency, in minor units. */
  price_minor: ReadonlyMap<string, bigint>;
  bonus: PackBonus | null;
  /** In ascending `from_quantity`, each above 1. */
  volume_tiers: readonly VolumeTier[];
  /** A refund takes back what is left (`clamp`), or also records what was spent as debt (`debt`). */
  refund_policy: 'clamp' | 'debt';
}

/** What `quantity` packs cost in `currency`: the price of each at its volume tier, and the total. */
export function packPrice(
  pack: Pack,
  currency: string,
  quantity: number,
): { each_minor: bigint; total_minor: bigint; from_quantity: number } | undefined {
  let each_minor = pack.price_minor.get(currency);
  if (each_minor === undefined) return undefined;
  let from_quantity = 1;
  for (const tier of pack.volume_tiers) {
    const tier_price = tier.price_minor.get(currency);
    if (tier.from_quantity <= quantity && tier_price !== undefined) {
      each_minor = tier_price;
      from_quantity = tier.from_quantity;
    }
  }
  return { each_minor, total_minor: each_minor * BigInt(quantity), from_quantity };
}

/**
 * Money per credit in major units ("0.0095" dollars), to UNIT_PRICE_DECIMALS decimals, rounded
 * to nearest: price_minor / 10^exponent / (credits_micros / 10^6).
 */
export function unitPrice(price_minor: bigint, credits_micros: bigint, exponent: number): string {
  const units = divideRounded(
    price_minor * MICROS_PER_CREDIT * pow10(UNIT_PRICE_DECIMALS),
    credits_micros * pow10(exponent),
    'nearest',
  );
  return formatDecimal({ units, scale: UNIT_PRICE_DECIMALS });
}

/**
 * How much cheaper a credit is than at the base price, in basis points (1250 = 12.5 %),
 * rounded towards zero; negative when dearer. Exact: 1 − (price / credits) ÷ (base_price / base_credits).
 */
export function discountBasisPoints(
  price_minor: bigint,
  credits_micros: bigint,
  base_price_minor: bigint,
  base_credits_micros: bigint,
): bigint {
  const base = credits_micros * base_price_minor;
  const difference = base - price_minor * base_credits_micros;
  if (base === 0n) return 0n;
  const magnitude = divideRounded((difference < 0n ? -difference : difference) * 10_000n, base, 'down');
  return difference < 0n ? -magnitude : magnitude;
}

/** Basis points as a percentage: 1250 → "12.5". */
export function percentOf(basis_points: bigint): string {
  return formatDecimal({ units: basis_points, scale: 2 });
}

/** Credits one pack gives, bonus included. */
export const packCreditsWithBonus = (pack: Pack): bigint =>
  pack.credits_micros + (pack.bonus?.credits_micros ?? 0n);

/**
 * The pack an auto-recharge buys when it names none: the smallest sold in `currency` that brings
 * the balance back above the threshold (gives at least `needed_micros`), else the largest.
 */
export function smallestPackCovering(
  packs: readonly Pack[],
  currency: string,
  needed_micros: bigint,
): Pack | undefined {
  const sold = packs
    .filter((pack) => pack.price_minor.has(currency))
    .sort((a, b) => (packCreditsWithBonus(a) < packCreditsWithBonus(b) ? -1 : 1));
  return sold.find((pack) => packCreditsWithBonus(pack) > needed_micros) ?? sold[sold.length - 1];
}

/**
 * The credits a refund of `refund_minor` out of `paid_minor` takes back of a grant of
 * `granted_micros`: the same fraction, rounded down (the customer keeps any micro-credit).
 */
export function proRataMicros(granted_micros: bigint, refund_minor: bigint, paid_minor: bigint): bigint {
  if (paid_minor === 0n || refund_minor >= paid_minor) return granted_micros;
  return divideRounded(granted_micros * refund_minor, paid_minor, 'down');
}
