/**
 * Purchases (SPEC C9) as commands: a purchase is a state machine — pending → paid →
 * (partially_)refunded, or pending → failed | expired — and each step is one command under the
 * purchase's account lock (service/payments/purchase-ledger.ts). Providers are called between
 * commands, never inside one (service/payments/payments.ts).
 */
import { z } from 'zod';
import { currencyExponent, parseMinorUnits } from '../../domain/money.ts';
import { packCreditsWithBonus, smallestPackCovering } from '../../domain/packs.ts';
import { TallyError } from '../../domain/results.ts';
import {
  autoRechargeInput,
  confirmPurchaseInput,
  createPurchaseInput,
  failPurchaseInput,
  recordCheckoutInput,
  refundPurchaseInput,
} from '../../schema/commands.ts';
import { identifierField } from '../../schema/fields.ts';
import type { AutoRechargeRow, PurchaseRow, StoreTransaction } from '../../store/store.ts';
import { AccountSession, type SessionEnvironment } from '../account-session.ts';
import { startAutoRecharge } from '../payments/auto-recharge.ts';
import {
  boughtThisMonth,
  failPurchase,
  lockedPurchase,
  newPurchase,
  payPurchase,
  purchaseGrants,
  refundedMinor,
  refundPurchase,
} from '../payments/purchase-ledger.ts';
import { autoRechargeView, purchaseView } from '../payments/views.ts';
import { command } from './command.ts';

/** Finds a purchase, then opens its account and reads the purchase again under the lock. */
async function openPurchase(
  transaction: StoreTransaction,
  environment: SessionEnvironment,
  purchase_id: string,
): Promise<{ session: AccountSession; purchase: PurchaseRow }> {
  const found = await transaction.getPurchase(purchase_id);
  if (!found) throw new TallyError('purchase_not_found', `no purchase ${purchase_id}`);
  const session = await AccountSession.open(transaction, found.account_id, environment);
  return { session, purchase: await lockedPurchase(session, purchase_id) };
}

async function answer(session: AccountSession, purchase: PurchaseRow) {
  return purchaseView(purchase, await purchaseGrants(session, purchase), session.now_ms);
}

/** Starts a purchase: pending, priced at the pack's terms now, which it keeps. */
export const createPurchaseCommand = command({
  name: 'create_purchase',
  input: createPurchaseInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, engine, environment }, request) => {
    const { packs, payments } = engine.config;
    if (request.packs_version !== undefined && request.packs_version !== packs.version)
      throw new TallyError('pack_terms_changed', `the packs are at version ${packs.version} now`, {
        extensions: { version: packs.version },
      });
    const pack = packs.by_id.get(request.pack);
    if (!pack) throw new TallyError('pack_not_found', `no pack ${request.pack}; GET /v1/packs lists them`);
    const provider = request.provider ?? payments.provider;
    if (!payments.providers.includes(provider))
      throw new TallyError('provider_not_offered', `purchases here use ${payments.providers.join(' or ')}`);
    if (request.test_card !== undefined && provider !== 'test')
      throw new TallyError('invalid_request', 'test_card is for the test provider only');
    const session = await AccountSession.open(transaction, request.account, environment);
    const book_currency = (await engine.price_books.inForceAt(transaction, now_ms)).credit_value.currency;
    const currency =
      request.currency ??
      (pack.price_minor.has(book_currency) ? book_currency : [...pack.price_minor.keys()][0]!);
    const purchase = newPurchase(
      engine.ids,
      {
        account_id: request.account,
        pack,
        quantity: request.quantity,
        currency,
        provider,
        auto_recharge: false,
      },
      now_ms,
    );
    if (request.test_card !== undefined) purchase.terms.test_card = request.test_card;
    await transaction.insertPurchase(purchase);
    return answer(session, purchase);
  },
});

/** The provider was asked to take the money: its session and where the customer pays. */
export const recordCheckoutCommand = command({
  name: 'record_checkout',
  input: recordCheckoutInput,
  audited: false,
  run: async ({ transaction, environment }, request) => {
    const { session, purchase } = await openPurchase(transaction, environment, request.purchase);
    purchase.started_at_ms ??= session.now_ms;
    // A confirmation that came first (paid already) keeps its status; the session is still noted.
    purchase.checkout_session_id ??= request.session_id;
    purchase.checkout_url ??= request.checkout_url;
    purchase.updated_at_ms = session.now_ms;
    await transaction.updatePurchase(purchase);
    return answer(session, purchase);
  },
});

/** Payment arrived (a provider's confirmation, or an operator's for the manual provider). */
export const confirmPurchaseCommand = command({
  name: 'confirm_purchase',
  input: confirmPurchaseInput,
  audited: true,
  run: async ({ transaction, environment }, request) => {
    const { session, purchase } = await openPurchase(transaction, environment, request.purchase);
    await payPurchase(session, purchase, {
      payment_id: request.payment_id ?? `manual:${purchase.id}`,
      reference: request.reference ?? null,
    });
    return answer(session, purchase);
  },
  audit_when: () => true,
});

export const failPurchaseCommand = command({
  name: 'fail_purchase',
  input: failPurchaseInput,
  audited: false,
  run: async ({ transaction, environment }, request) => {
    const { session, purchase } = await openPurchase(transaction, environment, request.purchase);
    await failPurchase(session, purchase, request.outcome, request.reason);
    return answer(session, purchase);
  },
});

/** Money in the purchase's currency, major units → minor units; refused when finer than the minor unit. */
export function minorUnits(amount: string | number, currency: string): bigint {
  const minor_units = parseMinorUnits(amount, currency);
  if (minor_units === undefined)
    throw new TallyError(
      'invalid_request',
      `amount must be a positive amount of ${currency} with at most ${currencyExponent(currency) ?? 2} decimals`,
      { errors: [{ field: 'amount', code: 'invalid_request', message: 'is not an amount of money' }] },
    );
  return minor_units;
}

export const refundPurchaseCommand = command({
  name: 'refund_purchase',
  input: refundPurchaseInput,
  audited: true,
  run: async ({ transaction, environment, engine }, request) => {
    const { session, purchase } = await openPurchase(transaction, environment, request.purchase);
    await refundPurchase(session, engine.ids, purchase, {
      amount_minor: request.amount === undefined ? undefined : minorUnits(request.amount, purchase.currency),
      reason: request.reason,
      provider_refund_id: request.provider_refund_id ?? null,
    });
    return answer(session, purchase);
  },
});

/** Auto-recharge settings; switching it on below the threshold starts the first recharge at once. */
export const putAutoRechargeCommand = command({
  name: 'put_auto_recharge',
  input: autoRechargeInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, engine, environment }, request) => {
    const { packs } = engine.config;
    const session = await AccountSession.open(transaction, request.account, environment);
    const current = await transaction.getAutoRecharge(request.account);
    const currency =
      request.currency ??
      current?.currency ??
      (await engine.price_books.inForceAt(transaction, now_ms)).credit_value.currency;
    const pack =
      request.pack === undefined
        ? smallestPackCovering(packs.packs, currency, 0n)
        : packs.by_id.get(request.pack);
    if (!pack)
      throw new TallyError(
        request.pack === undefined ? 'currency_not_offered' : 'pack_not_found',
        request.pack === undefined ? `no pack is sold in ${currency}` : `no pack ${request.pack}`,
      );
    if (!pack.price_minor.has(currency))
      throw new TallyError('currency_not_offered', `pack ${pack.id} is not sold in ${currency}`);
    if (request.monthly_max !== undefined && request.monthly_max < packCreditsWithBonus(pack))
      throw new TallyError(
        'monthly_max_below_pack',
        `monthly_max must allow at least one ${pack.id} pack (its credits with bonus)`,
      );
    const settings: AutoRechargeRow = {
      account_id: request.account,
      enabled: request.enabled,
      threshold_micros: request.threshold,
      pack_id: request.pack ?? null,
      currency,
      monthly_max_micros: request.monthly_max ?? null,
      // Saving the settings again is how a customer resumes a paused or disabled recharge.
      status: 'active',
      status_reason: null,
      in_flight_purchase_id: current?.in_flight_purchase_id ?? null,
      failures_in_row: 0,
      resume_at_ms: null,
      updated_at_ms: now_ms,
    };
    await transaction.putAutoRecharge(settings);
    await session.setAutoRechargeThreshold(request.enabled ? request.threshold : null);
    if (request.enabled) {
      await startAutoRecharge(session, await session.usableMicros());
      session.auto_recharge_quiet = true;
    }
    const saved = (await transaction.getAutoRecharge(request.account)) ?? settings;
    return autoRechargeView(saved, await boughtThisMonth(session));
  },
});

/** A new month: auto-recharge held back by its ceiling looks at the balance again. */
export const resumeAutoRechargeCommand = command({
  name: 'resume_auto_recharge',
  input: z.strictObject({ account: identifierField }),
  audited: false,
  account: (input) => input.account,
  run: async ({ transaction, environment }, request) => {
    const session = await AccountSession.open(transaction, request.account, environment);
    const settings = await transaction.getAutoRecharge(request.account);
    if (!settings || settings.resume_at_ms === null || settings.resume_at_ms > session.now_ms)
      return { resumed: false };
    settings.resume_at_ms = null;
    settings.updated_at_ms = session.now_ms;
    await transaction.putAutoRecharge(settings);
    // Finishing the session starts a recharge if the balance is still below the threshold.
    return { resumed: true };
  },
});

/** What a provider's event asks of a purchase, once its signature was checked (payments.ts). */
const providerAction = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('paid'), payment_id: z.string().min(1).max(255) }),
  z.strictObject({
    kind: z.literal('failed'),
    outcome: z.enum(['declined', 'failed', 'requires_action', 'expired']),
    reason: z.string().max(500),
  }),
  z.strictObject({
    kind: z.literal('refunded'),
    /** Everything the provider has refunded of the payment so far, in minor units. */
    refunded_total_minor: z.string().regex(/^\d{1,18}$/),
    refund_id: z.string().max(255),
  }),
  z.strictObject({ kind: z.literal('ignored') }),
]);

export const receiveProviderEventInput = z.strictObject({
  provider: z.enum(['test', 'stripe']),
  event_id: z.string().min(1).max(255),
  type: z.string().max(200),
  body_hash: z.string().max(128),
  purchase: identifierField.nullable(),
  session_id: z.string().max(255).nullable(),
  /** The provider's payment, for events that name only it (a refund). */
  payment_id: z.string().max(255).nullable(),
  action: providerAction,
});

/**
 * A provider's event into the inbox, once per id, and applied to its purchase in the same
 * transaction under the account's lock: delivered twice (or by two processes at once) it
 * applies once; the same id with another body is refused.
 */
export const receiveProviderEventCommand = command({
  name: 'receive_provider_event',
  input: receiveProviderEventInput,
  audited: false,
  run: async ({ transaction, now_ms, environment, engine }, event) => {
    const found =
      (event.purchase === null ? undefined : await transaction.getPurchase(event.purchase)) ??
      (event.session_id === null
        ? undefined
        : await transaction.getPurchaseByCheckoutSession(event.session_id)) ??
      (event.payment_id === null ? undefined : await transaction.getPurchaseByPayment(event.payment_id));
    const session = found && (await AccountSession.open(transaction, found.account_id, environment));
    const seen = await transaction.getProviderEvent(event.provider, event.event_id);
    if (seen) {
      if (seen.body_hash !== event.body_hash)
        throw new TallyError(
          'provider_event_conflict',
          `event ${event.event_id} came before with another body`,
        );
      return { received: true as const, outcome: seen.outcome, replayed: true };
    }
    let outcome: 'applied' | 'ignored' | 'unmatched' = 'unmatched';
    if (session && found) {
      const purchase = await lockedPurchase(session, found.id);
      const { action } = event;
      outcome = 'ignored';
      if (action.kind === 'paid') {
        if (
          (await payPurchase(session, purchase, { payment_id: action.payment_id, reference: null })) ===
          'paid'
        )
          outcome = 'applied';
      } else if (action.kind === 'failed') {
        if (await failPurchase(session, purchase, action.outcome, action.reason)) outcome = 'applied';
      } else if (action.kind === 'refunded') {
        const more = BigInt(action.refunded_total_minor) - refundedMinor(purchase);
        if (more > 0n && purchase.status !== 'refunded') {
          const result = await refundPurchase(session, engine.ids, purchase, {
            amount_minor: more,
            reason: `refunded at ${event.provider}`,
            provider_refund_id: action.refund_id,
          });
          if (result === 'refunded') outcome = 'applied';
        }
      }
    }
    await transaction.insertProviderEvent({
      provider: event.provider,
      id: event.event_id,
      type: event.type,
      body_hash: event.body_hash,
      purchase_id: found?.id ?? event.purchase,
      outcome,
      received_at_ms: now_ms,
    });
    return { received: true as const, outcome, replayed: false };
  },
});
