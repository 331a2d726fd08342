/**
 * What commands answer: rows shaped as the HTTP contract (API.md) shapes them, with credits as
 * decimal strings and times as RFC 3339; the types are those of the answer schemas (schema/answers.ts). The library and the HTTP edge return the same objects,
 * and idempotent replays return them verbatim.
 */
import type { z } from 'zod';
import { grantState } from '../domain/balance.ts';
import { formatCredits } from '../domain/credits.ts';
import { formatDecimal } from '../domain/decimal.ts';
import type { Allocation } from '../domain/drawdown.ts';
import { type CreditValue, currencyExponent, moneyFor } from '../domain/money.ts';
import type {
  accountAnswer,
  allocationAnswer,
  chargeAnswer,
  grantAnswer,
  payoutAnswer,
  reservationAnswer,
} from '../schema/answers.ts';
import type { AccountRow, ChargeRow, CreatorPayoutRow, GrantRow, ReservationRow } from '../store/store.ts';

export const isoTime = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));

export type AccountView = z.infer<typeof accountAnswer>;

export function accountView(row: AccountRow): AccountView {
  return {
    id: row.id,
    kind: row.kind,
    timezone: row.timezone,
    status: row.status,
    low_balance_threshold:
      row.low_balance_threshold_micros === null ? null : formatCredits(row.low_balance_threshold_micros),
    created_at: isoTime(row.created_at_ms),
    metadata: row.metadata,
  };
}

export type GrantView = z.infer<typeof grantAnswer>;

/** `remaining_micros` may be given when reads count credits freed by lapsed reservations. */
export function grantView(row: GrantRow, now_ms: number, remaining_micros = row.remaining_micros): GrantView {
  return {
    id: row.id,
    account: row.account_id,
    kind: row.kind,
    amount: formatCredits(row.amount_micros),
    remaining: formatCredits(remaining_micros),
    effective_at: isoTime(row.effective_at_ms),
    expires_at: isoOrNull(row.expires_at_ms),
    priority: row.priority,
    source: row.source,
    status: grantState(row, now_ms),
    reason: row.reason,
    closed_at: isoOrNull(row.closed_at_ms),
    closed_reason: row.closed_reason,
    allowed_operations: row.allowed_operations,
    refund_of: row.refund_of_charge_id,
    metadata: row.metadata,
    created_at: isoTime(row.created_at_ms),
  };
}

export type AllocationView = z.infer<typeof allocationAnswer>;

const allocationViews = (allocations: readonly Allocation[]): AllocationView[] =>
  allocations.map((allocation) => ({
    grant_id: allocation.grant_id,
    kind: allocation.kind,
    amount: formatCredits(allocation.amount_micros),
  }));

export type ReservationView = z.infer<typeof reservationAnswer>;

export function reservationView(
  row: ReservationRow,
  credit_value: CreditValue,
  now_ms: number,
): ReservationView {
  const lapsed = row.status === 'held' && row.expires_at_ms <= now_ms;
  return {
    id: row.id,
    account: row.account_id,
    operation: row.operation,
    model: row.model,
    status: lapsed ? 'expired' : row.status,
    amount: formatCredits(row.amount_micros),
    money: moneyFor(row.amount_micros, credit_value),
    expires_at: isoTime(row.expires_at_ms),
    price_version: row.price_version,
    grants: allocationViews(row.allocations),
    usage: row.usage,
    member: row.member,
    metadata: row.metadata,
    created_at: isoTime(row.created_at_ms),
    resolved_at: lapsed ? isoTime(row.expires_at_ms) : isoOrNull(row.resolved_at_ms),
    charge_id: row.charge_id,
  };
}

export type ChargeView = z.infer<typeof chargeAnswer>;

export function chargeView(row: ChargeRow, credit_value: CreditValue): ChargeView {
  return {
    id: row.id,
    account: row.account_id,
    reservation_id: row.reservation_id,
    operation: row.operation,
    model: row.model,
    usage: row.usage,
    credits: formatCredits(row.credits_micros),
    money: moneyFor(row.credits_micros, credit_value),
    uncollected: formatCredits(row.uncollected_micros),
    refunded: formatCredits(row.refunded_micros),
    grants: allocationViews(row.allocations),
    outcome: row.outcome,
    price_version: row.price_version,
    member: row.member,
    metadata: row.metadata,
    usage_source: row.usage_source,
    creator: row.creator && {
      account: row.creator.account_id,
      amount: formatCredits(row.creator.share_micros - row.creator.reversed_micros),
      reversed: formatCredits(row.creator.reversed_micros),
      basis: row.creator.basis,
    },
    created_at: isoTime(row.created_at_ms),
  };
}

export type PayoutView = z.infer<typeof payoutAnswer>;

/** A payout, with the money it was worth when it was paid (kept on the row). */
export function payoutView(row: CreatorPayoutRow): PayoutView {
  return {
    id: row.id,
    creator: row.account_id,
    amount: formatCredits(row.amount_micros),
    money: {
      currency: row.currency,
      amount_minor: Number(row.amount_minor),
      amount: formatDecimal({ units: row.amount_minor, scale: currencyExponent(row.currency) ?? 2 }),
    },
    as: row.paid_as,
    grant_id: row.grant_id,
    reference: row.reference,
    earned_before: isoTime(row.earned_before_ms),
    created_at: isoTime(row.created_at_ms),
  };
}
