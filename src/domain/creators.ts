/**
 * Creator revenue share (SPEC C10): what the author of a prompt or app earns of a run by someone
 * else, and what a refund of that run takes back. Exact, and rounded one way only:
 *
 * - the runner's charge is rounded once, by the operation's rounding (pricing.ts); under
 *   `premium` the premium is added to the exact price before that one rounding;
 * - the creator's share is then computed from the charge as rounded and rounded DOWN to the
 *   micro-credit; the remainder (never more than a micro-credit) stays with the platform.
 *
 * `cost`:    share = ⌊charge × rate⌋, carved out of what the runner pays.
 * `premium`: the charge is cost × (1 + rate); share = ⌊charge × rate ÷ (1 + rate)⌋, the premium.
 */
import type { Decimal } from './decimal.ts';
import { pow10 } from './decimal.ts';
import type { CreatorShare } from './pricing.ts';

/** The creator's share of a charge of `charge_micros`, rounded down to the micro-credit. */
export function creatorShareMicros(share: CreatorShare, charge_micros: bigint): bigint {
  if (charge_micros <= 0n) return 0n;
  const { units, scale } = share.rate;
  const one = pow10(scale);
  if (share.basis === 'cost') return (charge_micros * units) / one;
  return (charge_micros * units) / (one + units);
}

/**
 * A charge on a creator's work in its two parts, as estimates and the price table show it: the
 * creator's share and the AI cost. Under `premium` they add up to the charge; under `cost` the
 * share is carved out of the AI cost, which is the whole charge.
 */
export function chargeParts(
  share: CreatorShare,
  charge_micros: bigint,
): { creator_micros: bigint; ai_cost_micros: bigint } {
  const creator_micros = creatorShareMicros(share, charge_micros);
  return {
    creator_micros,
    ai_cost_micros: share.basis === 'premium' ? charge_micros - creator_micros : charge_micros,
  };
}

/**
 * What a refund of `refund_micros` of a charge takes back of the creator's share, pro rata and
 * rounded down; the last refund, which empties the charge, takes back whatever is left, so a
 * charge refunded in full always leaves the creator nothing of it.
 */
export function reversedShareMicros(
  charge: { credits_micros: bigint; refunded_micros: bigint },
  creator: { share_micros: bigint; reversed_micros: bigint },
  refund_micros: bigint,
): bigint {
  const left = creator.share_micros - creator.reversed_micros;
  if (left <= 0n) return 0n;
  if (charge.refunded_micros + refund_micros >= charge.credits_micros) return left;
  const pro_rata = (creator.share_micros * refund_micros) / charge.credits_micros;
  return pro_rata < left ? pro_rata : left;
}

/** 1 + rate, the factor a premium multiplies the cost by, as a Decimal. */
export function premiumFactor(rate: Decimal): Decimal {
  return { units: pow10(rate.scale) + rate.units, scale: rate.scale };
}
