/**
 * Payment providers behind one interface (SPEC C9), and the steps between commands that call
 * them: a purchase is created (a command), its provider is asked to take the money (outside any
 * transaction), and what the provider says comes back as commands — a confirmation, a failure,
 * an event for the inbox. A provider is never called inside a command, which may run twice.
 *
 * - `test`: plays a payment at once as its test card says: `ok`, `decline`, `fail`,
 *   `requires_action`, `twice` (its confirmation delivered twice, at once) or `out_of_order`
 *   (confirmed before the checkout is recorded). Auto-recharges use the account's
 *   `test_card` metadata.
 * - `manual`: waits for an operator's confirmation (an invoice paid).
 * - `stripe`: Checkout Sessions, signed webhooks, refunds (stripe-provider.ts).
 */
import { createHash } from 'node:crypto';
import { TallyError } from '../../domain/results.ts';
import type { CreatePurchaseInput, RefundPurchaseInput, TestCard } from '../../schema/commands.ts';
import type { PurchaseRow } from '../../store/store.ts';
import {
  confirmPurchaseCommand,
  createPurchaseCommand,
  failPurchaseCommand,
  minorUnits,
  receiveProviderEventCommand,
  recordCheckoutCommand,
  refundPurchaseCommand,
  resumeAutoRechargeCommand,
} from '../commands/purchases.ts';
import type { CommandOptions, Tally } from '../tally.ts';
import { refundedMinor } from './purchase-ledger.ts';
import { StripeProvider } from './stripe-provider.ts';
import type { PurchaseView } from './views.ts';

/** Purchases started or expired per pass of the background work. */
const PROCESS_BATCH = 100;

export class Payments {
  private stripe_provider: StripeProvider | undefined;

  constructor(private readonly tally: Tally) {}

  private stripe(): StripeProvider {
    const settings = this.tally.config.payments.stripe;
    if (!settings) throw new TallyError('provider_not_offered', 'this Tally has no payments.stripe');
    this.stripe_provider ??= new StripeProvider(settings);
    return this.stripe_provider;
  }

  /** Starts a purchase and asks its provider for the money: the answer is pending, or already paid. */
  async purchase(input: CreatePurchaseInput, options: CommandOptions = {}): Promise<PurchaseView> {
    const created = await this.tally.run(createPurchaseCommand, input, options);
    // A replayed request answers what the first one did; the provider was asked then.
    if (created.status !== 'pending' || created.checkout_url !== null) return created;
    return this.start(await this.row(created.id));
  }

  private async row(purchase_id: string): Promise<PurchaseRow> {
    const row = await this.tally.store.read((transaction) => transaction.getPurchase(purchase_id));
    if (!row) throw new TallyError('purchase_not_found', `no purchase ${purchase_id}`);
    return row;
  }

  /** Asks the purchase's provider to take the money. */
  private async start(purchase: PurchaseRow): Promise<PurchaseView> {
    const record = (session_id: string | null, checkout_url: string | null) =>
      this.tally.run(recordCheckoutCommand, { purchase: purchase.id, session_id, checkout_url });
    switch (purchase.provider) {
      case 'manual':
        return record(null, null);
      case 'stripe': {
        const session = await this.stripe().checkout(purchase);
        return record(session.session_id, session.url);
      }
      case 'test':
        return this.playTestPayment(purchase, record);
    }
  }

  private async playTestPayment(
    purchase: PurchaseRow,
    record: (session_id: string | null, url: string | null) => Promise<PurchaseView>,
  ): Promise<PurchaseView> {
    const account = await this.tally.getAccount(purchase.account_id);
    const card = (purchase.terms.test_card ?? account.metadata.test_card ?? 'ok') as TestCard;
    const paid = () =>
      this.testEvent(purchase, 'payment.succeeded', { kind: 'paid', payment_id: `test_pay_${purchase.id}` });
    const fail = (outcome: 'declined' | 'failed' | 'requires_action', reason: string) =>
      this.tally.run(failPurchaseCommand, { purchase: purchase.id, outcome, reason });
    switch (card) {
      case 'decline':
        await record(null, null);
        return fail('declined', 'the test card was declined');
      case 'fail':
        await record(null, null);
        return fail('failed', 'the test payment failed');
      case 'requires_action':
        await record(null, null);
        return fail('requires_action', 'the test card asks the customer to authenticate');
      case 'twice':
        await record(null, null);
        await Promise.all([paid(), paid()]);
        break;
      case 'out_of_order':
        await paid();
        await record(null, null);
        break;
      default:
        await record(null, null);
        await paid();
    }
    return this.view(purchase.id);
  }

  /** The test provider's confirmation, through the inbox as a real provider's would come. */
  private testEvent(
    purchase: PurchaseRow,
    type: string,
    action: { kind: 'paid'; payment_id: string },
  ): Promise<unknown> {
    const body = JSON.stringify({ type, purchase: purchase.id, ...action });
    return this.tally.run(receiveProviderEventCommand, {
      provider: 'test',
      event_id: `test_evt_${purchase.id}_${type}`,
      type,
      body_hash: createHash('sha256').update(body).digest('hex'),
      purchase: purchase.id,
      session_id: null,
      payment_id: null,
      action,
    });
  }

  async view(purchase_id: string): Promise<PurchaseView> {
    return this.tally.getPurchase(purchase_id);
  }

  /** An operator's confirmation that a manual purchase was paid (audited). */
  confirm(purchase_id: string, reference: string | undefined, options: CommandOptions = {}) {
    return this.tally.run(confirmPurchaseCommand, { purchase: purchase_id, reference }, options);
  }

  /**
   * Refunds a purchase: at its provider first when the provider holds the money (Stripe), then
   * in the ledger with its clawback; the provider's refund id makes the second step idempotent.
   */
  async refund(input: RefundPurchaseInput, options: CommandOptions = {}): Promise<PurchaseView> {
    const purchase = await this.row(input.purchase);
    if (purchase.provider !== 'stripe' || purchase.payment_id === null)
      return this.tally.run(refundPurchaseCommand, input, options);
    const refundable = purchase.amount_minor - refundedMinor(purchase);
    const amount_minor =
      input.amount === undefined ? refundable : minorUnits(input.amount, purchase.currency);
    // Checked here before Stripe is asked, and again by the command under the account's lock.
    if (amount_minor <= 0n || amount_minor > refundable)
      return this.tally.run(refundPurchaseCommand, input, options);
    const refund_id = await this.stripe().refund(
      purchase,
      amount_minor,
      options.idempotency_key ?? `${purchase.id}-${purchase.refunds.length}`,
    );
    return this.tally.run(refundPurchaseCommand, { ...input, provider_refund_id: refund_id }, options);
  }

  /** A Stripe webhook: verified, then into the inbox and applied once. */
  async stripeWebhook(raw_body: string, signature: string | undefined) {
    const event = this.stripe().verify(raw_body, signature);
    return this.tally.run(receiveProviderEventCommand, event);
  }

  /**
   * Background work: starts purchases no provider was asked about (auto-recharges, or a start
   * cut short by a crash) and expires those left pending too long.
   */
  async processDue(): Promise<{ started: number; expired: number }> {
    const report = { started: 0, expired: 0 };
    const now_ms = this.tally.clock.now_ms();
    const resuming = await this.tally.store.read((transaction) =>
      transaction.listAutoRechargesResuming(now_ms, PROCESS_BATCH),
    );
    for (const account of resuming) await this.tally.run(resumeAutoRechargeCommand, { account });
    const due = await this.tally.store.read((transaction) =>
      transaction.listPurchasesToProcess(now_ms, PROCESS_BATCH),
    );
    for (const purchase of due) {
      try {
        if (purchase.expires_at_ms <= now_ms) {
          await this.tally.run(failPurchaseCommand, {
            purchase: purchase.id,
            outcome: 'expired',
            reason: 'not paid in time',
          });
          report.expired++;
        } else {
          await this.start(purchase);
          report.started++;
        }
      } catch (error) {
        // A provider that cannot be reached now is asked again on the next pass.
        if (!(error instanceof TallyError && error.code === 'provider_failed')) throw error;
        console.error(`purchase ${purchase.id}: ${error.message}`);
      }
    }
    return report;
  }
}
