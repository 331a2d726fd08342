/**
 * What commands answer: rows shaped as the HTTP contract (API.md) shapes them, with credits as
 * decimal strings and times as RFC 3339. The library and the HTTP edge return the same objects,
 * and idempotent replays return them verbatim.
 */
import { type GrantState, grantState } from '../domain/balance.ts';
import { formatCredits } from '../domain/credits.ts';
import type { Allocation } from '../domain/drawdown.ts';
import { type CreditValue, type Money, moneyFor } from '../domain/money.ts';
import type { AccountRow, ChargeRow, GrantRow, ReservationRow, RunMetadata } from '../store/store.ts';

export const isoTime = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));

export interface AccountView {
  id: string;
  kind: 'user' | 'team';
  timezone: string;
  status: 'active' | 'closed';
  low_balance_threshold: string | null;
  created_at: string;
  metadata: Record<string, string>;
}

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

export interface GrantView {
  id: string;
  account: string;
  kind: string;
  amount: string;
  remaining: string;
  effective_at: string;
  expires_at: string | null;
  priority: number;
  source: string;
  status: GrantState;
  reason: string | null;
  /** When it was revoked or its expiry was booked, and why it was revoked. */
  closed_at: string | null;
  closed_reason: string | null;
  allowed_operations: string[] | null;
  refund_of: string | null;
  metadata: Record<string, string>;
  created_at: string;
}

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

export interface AllocationView {
  grant_id: string;
  kind: string;
  amount: string;
}

const allocationViews = (allocations: readonly Allocation[]): AllocationView[] =>
  allocations.map((allocation) => ({
    grant_id: allocation.grant_id,
    kind: allocation.kind,
    amount: formatCredits(allocation.amount_micros),
  }));

export interface ReservationView {
  id: string;
  account: string;
  operation: string;
  model: string | null;
  status: 'held' | 'settled' | 'released' | 'expired';
  amount: string;
  /** The amount held, in money at the reservation's price version. */
  money: Money;
  expires_at: string;
  price_version: number;
  grants: AllocationView[];
  usage: Record<string, string> | null;
  member: string | null;
  metadata: RunMetadata;
  created_at: string;
  resolved_at: string | null;
  charge_id: string | null;
}

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

export interface ChargeView {
  id: string;
  account: string;
  reservation_id: string | null;
  operation: string;
  model: string | null;
  usage: Record<string, string>;
  credits: string;
  /** The credits charged, in money at the charge's price version. */
  money: Money;
  uncollected: string;
  refunded: string;
  grants: AllocationView[];
  outcome: 'succeeded' | 'failed' | 'rejected';
  price_version: number;
  member: string | null;
  metadata: RunMetadata;
  created_at: string;
}

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
    created_at: isoTime(row.created_at_ms),
  };
}
