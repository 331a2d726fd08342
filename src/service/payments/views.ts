/** Packs, purchases and auto-recharge settings as the HTTP contract shapes them. */
import type { z } from 'zod';
import { formatCredits } from '../../domain/credits.ts';
import { currencyExponent } from '../../domain/money.ts';
import {
  discountBasisPoints,
  type Pack,
  packCreditsWithBonus,
  percentOf,
  unitPrice,
} from '../../domain/packs.ts';
import type {
  autoRechargeAnswer,
  packAnswer,
  packListAnswer,
  providerEventAnswer,
  purchaseAnswer,
} from '../../schema/answers.ts';
import type { TallyConfig } from '../../schema/config.ts';
import type { AutoRechargeRow, GrantRow, ProviderEventRow, PurchaseRow } from '../../store/store.ts';
import { grantView, isoTime } from '../views.ts';

export type PackView = z.infer<typeof packAnswer>;
export type PackListView = z.infer<typeof packListAnswer>;
export type PurchaseView = z.infer<typeof purchaseAnswer>;
export type AutoRechargeView = z.infer<typeof autoRechargeAnswer>;
export type ProviderEventView = z.infer<typeof providerEventAnswer>;

const exponentOf = (currency: string) => currencyExponent(currency) ?? 2;

/** A price as prices are written: every digit of the minor unit ("45.00", "1500" yen). */
function fixedMoney(amount_minor: bigint, exponent: number): string {
  if (exponent === 0) return amount_minor.toString();
  const digits = amount_minor.toString().padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

export function moneyView(currency: string, amount_minor: bigint) {
  return {
    currency,
    amount: fixedMoney(amount_minor, exponentOf(currency)),
    amount_minor: Number(amount_minor),
  };
}

/** One price of a pack: its unit prices, and its discount against the base pack's in that currency. */
function priceView(pack: Pack, base: Pack, currency: string, each_minor: bigint) {
  const exponent = exponentOf(currency);
  const base_minor = base.price_minor.get(currency);
  return {
    currency,
    amount: fixedMoney(each_minor, exponent),
    unit_price: unitPrice(each_minor, pack.credits_micros, exponent),
    unit_price_with_bonus: unitPrice(each_minor, packCreditsWithBonus(pack), exponent),
    discount_percent:
      base_minor === undefined
        ? '0'
        : percentOf(discountBasisPoints(each_minor, pack.credits_micros, base_minor, base.credits_micros)),
  };
}

export function packView(pack: Pack, base: Pack): PackView {
  return {
    id: pack.id,
    name: pack.name,
    credits: formatCredits(pack.credits_micros),
    kind: pack.kind,
    expires_after_days: pack.expires_after_days,
    bonus: pack.bonus && {
      credits: formatCredits(pack.bonus.credits_micros),
      kind: pack.bonus.kind,
      expires_after_days: pack.bonus.expires_after_days,
    },
    prices: [...pack.price_minor].map(([currency, minor]) => priceView(pack, base, currency, minor)),
    volume_tiers: pack.volume_tiers.map((tier) => ({
      from_quantity: tier.from_quantity,
      prices: [...tier.price_minor].map(([currency, minor]) => priceView(pack, base, currency, minor)),
    })),
    refund_policy: pack.refund_policy,
    base: pack === base,
  };
}

export function packListView(config: TallyConfig, credit_value: PackListView['credit_value']): PackListView {
  const base = config.packs.packs[0];
  return {
    version: config.packs.version,
    credit_value,
    providers: [...config.payments.providers],
    data: base ? config.packs.packs.map((pack) => packView(pack, base)) : [],
  };
}

export function purchaseView(
  row: PurchaseRow,
  grants: { grant: GrantRow | undefined; bonus: GrantRow | undefined },
  now_ms: number,
): PurchaseView {
  return {
    id: row.id,
    account: row.account_id,
    pack: row.pack_id,
    pack_name: row.terms.pack_name,
    quantity: row.quantity,
    status: row.status,
    provider: row.provider,
    credits: formatCredits(row.credits_micros),
    bonus_credits: formatCredits(row.bonus_micros),
    price: moneyView(row.currency, row.amount_minor),
    auto_recharge: row.auto_recharge,
    checkout_url: row.checkout_url,
    grant: grants.grant ? grantView(grants.grant, now_ms) : null,
    bonus_grant: grants.bonus ? grantView(grants.bonus, now_ms) : null,
    refunds: row.refunds.map((refund) => ({
      id: refund.id,
      amount: moneyView(row.currency, refund.amount_minor),
      clawed_back: formatCredits(refund.clawed_back_micros),
      debt: formatCredits(refund.debt_micros),
      reason: refund.reason,
      at: isoTime(refund.at_ms),
    })),
    failure: row.failure,
    reference: row.reference,
    created_at: isoTime(row.created_at_ms),
    paid_at: row.paid_at_ms === null ? null : isoTime(row.paid_at_ms),
    expires_at: isoTime(row.expires_at_ms),
  };
}

export function autoRechargeView(row: AutoRechargeRow, bought_this_month_micros: bigint): AutoRechargeView {
  return {
    account: row.account_id,
    enabled: row.enabled,
    threshold: formatCredits(row.threshold_micros),
    pack: row.pack_id,
    currency: row.currency,
    monthly_max: row.monthly_max_micros === null ? null : formatCredits(row.monthly_max_micros),
    bought_this_month: formatCredits(bought_this_month_micros),
    status: row.status,
    status_reason: row.status_reason,
    in_flight_purchase: row.in_flight_purchase_id,
    failures_in_row: row.failures_in_row,
  };
}

export function providerEventView(row: ProviderEventRow): ProviderEventView {
  return {
    provider: row.provider,
    id: row.id,
    type: row.type,
    purchase: row.purchase_id,
    outcome: row.outcome,
    received_at: isoTime(row.received_at_ms),
  };
}
