/** Purchases, provider events and auto-recharge settings as their SQL rows hold them. */

import type {
  AutoRechargeRow,
  ProviderEventRow,
  PurchaseRefund,
  PurchaseRow,
  PurchaseTerms,
} from '../store.ts';
import type { Row } from './dialect.ts';

const number = (value: unknown): number => Number(value as bigint);
const nullableNumber = (value: unknown): number | null => (value === null ? null : Number(value as bigint));
const nullableText = (value: unknown): string | null => value as string | null;

type StoredRefund = Omit<PurchaseRefund, 'amount_minor' | 'clawed_back_micros' | 'debt_micros'> & {
  amount_minor: string;
  clawed_back_micros: string;
  debt_micros: string;
};

export function purchaseFromRow(row: Row): PurchaseRow {
  return {
    account_id: row.account_id as string,
    id: row.id as string,
    pack_id: row.pack_id as string,
    quantity: number(row.quantity),
    terms: JSON.parse(row.terms_json as string) as PurchaseTerms,
    credits_micros: row.credits_micros as bigint,
    bonus_micros: row.bonus_micros as bigint,
    currency: row.currency as string,
    amount_minor: row.amount_minor as bigint,
    provider: row.provider as PurchaseRow['provider'],
    status: row.status as PurchaseRow['status'],
    auto_recharge: number(row.auto_recharge) === 1,
    checkout_session_id: nullableText(row.checkout_session_id),
    checkout_url: nullableText(row.checkout_url),
    payment_id: nullableText(row.payment_id),
    grant_id: nullableText(row.grant_id),
    bonus_grant_id: nullableText(row.bonus_grant_id),
    refunds: (JSON.parse(row.refunds_json as string) as StoredRefund[]).map((refund) => ({
      ...refund,
      amount_minor: BigInt(refund.amount_minor),
      clawed_back_micros: BigInt(refund.clawed_back_micros),
      debt_micros: BigInt(refund.debt_micros),
    })),
    failure: nullableText(row.failure),
    reference: nullableText(row.reference),
    created_at_ms: number(row.created_at_ms),
    updated_at_ms: number(row.updated_at_ms),
    started_at_ms: nullableNumber(row.started_at_ms),
    paid_at_ms: nullableNumber(row.paid_at_ms),
    expires_at_ms: number(row.expires_at_ms),
  };
}

export function purchaseParameters(row: PurchaseRow) {
  return {
    account_id: row.account_id,
    id: row.id,
    pack_id: row.pack_id,
    quantity: row.quantity,
    terms_json: JSON.stringify(row.terms),
    credits_micros: row.credits_micros,
    bonus_micros: row.bonus_micros,
    currency: row.currency,
    amount_minor: row.amount_minor,
    provider: row.provider,
    status: row.status,
    auto_recharge: row.auto_recharge ? 1 : 0,
    checkout_session_id: row.checkout_session_id,
    checkout_url: row.checkout_url,
    payment_id: row.payment_id,
    grant_id: row.grant_id,
    bonus_grant_id: row.bonus_grant_id,
    refunds_json: JSON.stringify(
      row.refunds.map((refund) => ({
        ...refund,
        amount_minor: refund.amount_minor.toString(),
        clawed_back_micros: refund.clawed_back_micros.toString(),
        debt_micros: refund.debt_micros.toString(),
      })),
    ),
    failure: row.failure,
    reference: row.reference,
    created_at_ms: row.created_at_ms,
    updated_at_ms: row.updated_at_ms,
    started_at_ms: row.started_at_ms,
    paid_at_ms: row.paid_at_ms,
    expires_at_ms: row.expires_at_ms,
  };
}

export function providerEventFromRow(row: Row): ProviderEventRow {
  return {
    provider: row.provider as string,
    id: row.id as string,
    type: row.type as string,
    body_hash: row.body_hash as string,
    purchase_id: nullableText(row.purchase_id),
    outcome: row.outcome as ProviderEventRow['outcome'],
    received_at_ms: number(row.received_at_ms),
  };
}

export function autoRechargeFromRow(row: Row): AutoRechargeRow {
  return {
    account_id: row.account_id as string,
    enabled: number(row.enabled) === 1,
    threshold_micros: row.threshold_micros as bigint,
    pack_id: nullableText(row.pack_id),
    currency: row.currency as string,
    monthly_max_micros: row.monthly_max_micros === null ? null : (row.monthly_max_micros as bigint),
    status: row.status as AutoRechargeRow['status'],
    status_reason: nullableText(row.status_reason),
    in_flight_purchase_id: nullableText(row.in_flight_purchase_id),
    failures_in_row: number(row.failures_in_row),
    resume_at_ms: nullableNumber(row.resume_at_ms),
    updated_at_ms: number(row.updated_at_ms),
  };
}
