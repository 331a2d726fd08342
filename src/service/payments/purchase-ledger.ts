/**
 * What a purchase does to its account, inside the command's transaction and under the
 * account's lock: a pending purchase is written with the terms it was sold at; payment issues
 * its grants (and the bonus's) at once; a refund takes back what is left of them, pro rata.
 * Every rule that bounds money (paid once, refund ≤ paid) reads the purchase under the lock.
 */
import { DAY_MS, periodContaining } from '../../domain/calendar.ts';
import { formatCredits } from '../../domain/credits.ts';
import {
  AUTO_RECHARGE_FAILURES_MAX,
  PURCHASE_PENDING_HOURS,
  PURCHASE_REFUNDS_MAX,
} from '../../domain/limits.ts';
import { type Pack, packPrice, proRataMicros } from '../../domain/packs.ts';
import { TallyError } from '../../domain/results.ts';
import type { ProviderId } from '../../schema/packs.ts';
import type { AutoRechargeRow, GrantRow, PurchaseRow } from '../../store/store.ts';
import type { AccountSession } from '../account-session.ts';
import type { IdGenerator } from '../ids.ts';
import { moneyView } from './views.ts';

/** A new pending purchase of `quantity` packs, priced at their volume tier in `currency`. */
export function newPurchase(
  ids: IdGenerator,
  order: {
    account_id: string;
    pack: Pack;
    quantity: number;
    currency: string;
    provider: ProviderId;
    auto_recharge: boolean;
  },
  now_ms: number,
): PurchaseRow {
  const { pack, quantity, currency } = order;
  const price = packPrice(pack, currency, quantity);
  if (!price)
    throw new TallyError('currency_not_offered', `pack ${pack.id} is not sold in ${currency}`, {
      extensions: { currencies: [...pack.price_minor.keys()] },
    });
  return {
    account_id: order.account_id,
    id: ids.next('pur', now_ms),
    pack_id: pack.id,
    quantity,
    terms: {
      pack_name: pack.name,
      kind: pack.kind,
      expires_after_days: pack.expires_after_days,
      bonus_kind: pack.bonus?.kind ?? null,
      bonus_expires_after_days: pack.bonus?.expires_after_days ?? null,
      refund_policy: pack.refund_policy,
      each_minor: price.each_minor.toString(),
    },
    credits_micros: pack.credits_micros * BigInt(quantity),
    bonus_micros: (pack.bonus?.credits_micros ?? 0n) * BigInt(quantity),
    currency,
    amount_minor: price.total_minor,
    provider: order.provider,
    status: 'pending',
    auto_recharge: order.auto_recharge,
    checkout_session_id: null,
    checkout_url: null,
    payment_id: null,
    grant_id: null,
    bonus_grant_id: null,
    refunds: [],
    failure: null,
    reference: null,
    created_at_ms: now_ms,
    updated_at_ms: now_ms,
    started_at_ms: null,
    paid_at_ms: null,
    expires_at_ms: now_ms + PURCHASE_PENDING_HOURS * 3_600_000,
  };
}

/** The purchase read again under its account's lock: the copy that found the account may be stale. */
export async function lockedPurchase(session: AccountSession, purchase_id: string): Promise<PurchaseRow> {
  const purchase = await session.transaction.getPurchase(purchase_id);
  if (!purchase || purchase.account_id !== session.account.id)
    throw new TallyError('purchase_not_found', `no purchase ${purchase_id}`);
  return purchase;
}

async function grantOf(session: AccountSession, grant_id: string | null): Promise<GrantRow | undefined> {
  return grant_id === null ? undefined : session.grant(grant_id);
}

export async function purchaseGrants(session: AccountSession, purchase: PurchaseRow) {
  return {
    grant: await grantOf(session, purchase.grant_id),
    bonus: await grantOf(session, purchase.bonus_grant_id),
  };
}

/**
 * Payment arrived: the purchased grant and the bonus grant, in this transaction. Idempotent on
 * the provider's payment id: the same payment again changes nothing; another payment for a
 * purchase already paid is refused (the provider has taken the money twice: refund it there).
 */
export async function payPurchase(
  session: AccountSession,
  purchase: PurchaseRow,
  payment: { payment_id: string; reference: string | null },
): Promise<'paid' | 'already_paid'> {
  if (purchase.payment_id === payment.payment_id) return 'already_paid';
  if (purchase.status !== 'pending' && purchase.status !== 'expired' && purchase.status !== 'failed')
    throw new TallyError(
      'purchase_already_paid',
      `purchase ${purchase.id} was paid by ${purchase.payment_id}`,
    );
  const now_ms = session.now_ms;
  const grant = (kind: string, amount_micros: bigint, expires_after_days: number | null) =>
    session.issueGrant(
      {
        id: session.newGrantId(),
        kind,
        priority: session.priorityOf(kind),
        amount_micros,
        effective_at_ms: now_ms,
        expires_at_ms: expires_after_days === null ? null : now_ms + expires_after_days * DAY_MS,
        source: 'purchase',
        reason: `purchase ${purchase.id}`,
        allowed_operations: null,
        refund_of_charge_id: null,
        metadata: { purchase: purchase.id, pack: purchase.pack_id },
        allowance_id: null,
        period_start_ms: null,
        requires_subscription: false,
      },
      { from: 'issued', type: 'grant_issue', reference_id: purchase.id },
    );
  const { terms } = purchase;
  purchase.grant_id = (await grant(terms.kind, purchase.credits_micros, terms.expires_after_days)).id;
  if (purchase.bonus_micros > 0n && terms.bonus_kind)
    purchase.bonus_grant_id = (
      await grant(terms.bonus_kind, purchase.bonus_micros, terms.bonus_expires_after_days)
    ).id;
  purchase.status = 'paid';
  purchase.payment_id = payment.payment_id;
  purchase.reference = payment.reference;
  purchase.failure = null;
  purchase.paid_at_ms = now_ms;
  purchase.updated_at_ms = now_ms;
  await session.transaction.updatePurchase(purchase);
  await session.emit('purchase.completed', {
    purchase_id: purchase.id,
    pack: purchase.pack_id,
    quantity: purchase.quantity,
    credits: formatCredits(purchase.credits_micros),
    bonus_credits: formatCredits(purchase.bonus_micros),
    price: moneyView(purchase.currency, purchase.amount_minor),
    auto_recharge: purchase.auto_recharge,
  });
  if (purchase.auto_recharge) await endRecharge(session, purchase, 'paid');
  return 'paid';
}

export type FailureOutcome = 'declined' | 'failed' | 'requires_action' | 'expired';

/** Payment failed (or never came): the purchase ends without credits, and auto-recharge learns of it. */
export async function failPurchase(
  session: AccountSession,
  purchase: PurchaseRow,
  outcome: FailureOutcome,
  reason: string,
): Promise<boolean> {
  if (purchase.status !== 'pending') return false;
  purchase.status = outcome === 'expired' ? 'expired' : 'failed';
  purchase.failure = `${outcome}: ${reason}`;
  purchase.updated_at_ms = session.now_ms;
  await session.transaction.updatePurchase(purchase);
  await session.emit('purchase.failed', {
    purchase_id: purchase.id,
    pack: purchase.pack_id,
    outcome,
    reason,
    auto_recharge: purchase.auto_recharge,
  });
  if (purchase.auto_recharge) await endRecharge(session, purchase, outcome);
  return true;
}

/**
 * The recharge in flight ended. Paid: the next may start when the balance falls again. A
 * decline stops auto-recharge at once, a payment that needs the customer pauses it, and other
 * failures stop it after AUTO_RECHARGE_FAILURES_MAX in a row; each says so with an event.
 * None retries by itself: this command will not start another.
 */
async function endRecharge(
  session: AccountSession,
  purchase: PurchaseRow,
  outcome: 'paid' | FailureOutcome,
): Promise<void> {
  const settings = await session.transaction.getAutoRecharge(session.account.id);
  if (!settings || settings.in_flight_purchase_id !== purchase.id) return;
  settings.in_flight_purchase_id = null;
  settings.updated_at_ms = session.now_ms;
  session.auto_recharge_quiet = true;
  if (outcome === 'paid') {
    settings.failures_in_row = 0;
    await session.transaction.putAutoRecharge(settings);
    return;
  }
  settings.failures_in_row++;
  const stop: AutoRechargeRow['status'] | null =
    outcome === 'requires_action'
      ? 'paused'
      : outcome === 'declined' || settings.failures_in_row >= AUTO_RECHARGE_FAILURES_MAX
        ? 'disabled'
        : null;
  if (stop) {
    settings.status = stop;
    settings.status_reason =
      stop === 'paused'
        ? 'the payment needs the customer’s action'
        : outcome === 'declined'
          ? 'the card was declined'
          : `${settings.failures_in_row} payments failed in a row`;
    await session.setAutoRechargeThreshold(null);
  }
  await session.transaction.putAutoRecharge(settings);
  await session.emit('auto_recharge.failed', {
    purchase_id: purchase.id,
    outcome,
    failures_in_row: settings.failures_in_row,
    status: settings.status,
    reason: settings.status_reason ?? purchase.failure,
  });
}

/**
 * Refunds `amount_minor` of a paid purchase (all that is left when unset) and takes back the
 * same fraction of its credits, bonus included: from what its grants have left first, and what
 * was already spent is, under the `debt` policy, recorded as debt (under `clamp`, forgiven).
 */
export async function refundPurchase(
  session: AccountSession,
  ids: IdGenerator,
  purchase: PurchaseRow,
  request: { amount_minor: bigint | undefined; reason: string; provider_refund_id: string | null },
): Promise<'refunded' | 'already_refunded'> {
  if (
    request.provider_refund_id !== null &&
    purchase.refunds.some((refund) => refund.provider_refund_id === request.provider_refund_id)
  )
    return 'already_refunded';
  if (purchase.status !== 'paid' && purchase.status !== 'partially_refunded')
    throw new TallyError('purchase_not_refundable', `purchase ${purchase.id} is ${purchase.status}`);
  if (purchase.refunds.length >= PURCHASE_REFUNDS_MAX)
    throw new TallyError(
      'purchase_not_refundable',
      `a purchase is refunded at most ${PURCHASE_REFUNDS_MAX} times`,
    );
  const refunded_before = refundedMinor(purchase);
  const refundable = purchase.amount_minor - refunded_before;
  const amount_minor = request.amount_minor ?? refundable;
  if (amount_minor <= 0n || amount_minor > refundable)
    throw new TallyError(
      'refund_exceeds_purchase',
      `${moneyView(purchase.currency, refundable).amount} ${purchase.currency} of purchase ${purchase.id} can still be refunded`,
    );
  const refund_id = ids.next('prf', session.now_ms);
  let clawed_back_micros = 0n;
  let debt_micros = 0n;
  // Each grant gives back the fraction refunded so far, less what earlier refunds took.
  for (const [grant_id, granted_micros] of [
    [purchase.grant_id, purchase.credits_micros],
    [purchase.bonus_grant_id, purchase.bonus_micros],
  ] as const) {
    if (grant_id === null) continue;
    const due =
      proRataMicros(granted_micros, refunded_before + amount_minor, purchase.amount_minor) -
      proRataMicros(granted_micros, refunded_before, purchase.amount_minor);
    const grant = await session.grant(grant_id);
    const left = grant.status === 'active' ? grant.remaining_micros : 0n;
    const taken = due < left ? due : left;
    await session.moveFromGrant(grant, taken, 'revoked', 'purchase_refund', refund_id);
    clawed_back_micros += taken;
    if (purchase.terms.refund_policy === 'debt' && due > taken) {
      await session.recordDebt(due - taken, grant_id, refund_id);
      debt_micros += due - taken;
    }
  }
  purchase.refunds.push({
    id: refund_id,
    amount_minor,
    clawed_back_micros,
    debt_micros,
    reason: request.reason,
    provider_refund_id: request.provider_refund_id,
    at_ms: session.now_ms,
  });
  purchase.status = amount_minor === refundable ? 'refunded' : 'partially_refunded';
  purchase.updated_at_ms = session.now_ms;
  await session.transaction.updatePurchase(purchase);
  await session.emit('purchase.refunded', {
    purchase_id: purchase.id,
    refund_id,
    amount: moneyView(purchase.currency, amount_minor),
    clawed_back: formatCredits(clawed_back_micros),
    debt: formatCredits(debt_micros),
  });
  return 'refunded';
}

/** Money refunded of a purchase so far, in minor units. */
export const refundedMinor = (purchase: PurchaseRow): bigint =>
  purchase.refunds.reduce((sum, refund) => sum + refund.amount_minor, 0n);

/** Credits auto-recharge bought this calendar month, in the account's timezone. */
export async function boughtThisMonth(session: AccountSession): Promise<bigint> {
  const month = periodContaining(session.now_ms, 'monthly', session.account.timezone);
  return session.transaction.sumAutoRechargeMicros(session.account.id, month.start_ms);
}
