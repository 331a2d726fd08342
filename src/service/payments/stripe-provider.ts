/**
 * Stripe, on the official `stripe` package: a Checkout Session per purchase, signed webhooks
 * verified with `stripe.webhooks.constructEvent`, refunds through the API. Each webhook event is
 * turned into what it asks of a purchase; the inbox and the purchase commands do the rest.
 */
import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { TallyError } from '../../domain/results.ts';
import type { PaymentsConfig } from '../../schema/packs.ts';
import type { PurchaseRow } from '../../store/store.ts';
import type { receiveProviderEventInput } from '../commands/purchases.ts';

type ProviderEvent = import('zod').input<typeof receiveProviderEventInput>;
type StripeSettings = NonNullable<PaymentsConfig['stripe']>;

export class StripeProvider {
  private client: Stripe | undefined;
  constructor(private readonly settings: StripeSettings) {}

  private stripe(): Stripe {
    if (this.client) return this.client;
    const key = process.env[this.settings.secret_key_env];
    if (!key) throw new TallyError('provider_failed', `${this.settings.secret_key_env} is not set`);
    const api = this.settings.api;
    this.client = new Stripe(key, {
      ...(api ? { host: api.host, port: api.port, protocol: api.protocol } : {}),
      maxNetworkRetries: 2,
      appInfo: { name: 'Tally' },
    });
    return this.client;
  }

  /** A Checkout Session for the purchase: the customer pays at its url. */
  async checkout(purchase: PurchaseRow): Promise<{ session_id: string; url: string | null }> {
    try {
      const session = await this.stripe().checkout.sessions.create(
        {
          mode: 'payment',
          client_reference_id: purchase.id,
          metadata: { purchase_id: purchase.id, account: purchase.account_id },
          payment_intent_data: { metadata: { purchase_id: purchase.id } },
          line_items: [
            {
              quantity: purchase.quantity,
              price_data: {
                currency: purchase.currency.toLowerCase(),
                unit_amount: Number(purchase.terms.each_minor),
                product_data: { name: purchase.terms.pack_name },
              },
            },
          ],
          success_url: this.settings.success_url,
          cancel_url: this.settings.cancel_url,
          expires_at: Math.floor(purchase.expires_at_ms / 1000),
        },
        // Asking twice (a retry after a lost answer) makes one session.
        { idempotencyKey: `tally-checkout-${purchase.id}` },
      );
      return { session_id: session.id, url: session.url };
    } catch (error) {
      throw providerFailure(error);
    }
  }

  /** Refunds `amount_minor` of the purchase's payment at Stripe: its refund id. */
  async refund(purchase: PurchaseRow, amount_minor: bigint, refund_key: string): Promise<string> {
    if (!purchase.payment_id?.startsWith('pi_'))
      throw new TallyError(
        'purchase_not_refundable',
        `purchase ${purchase.id} has no Stripe payment to refund`,
      );
    try {
      const refund = await this.stripe().refunds.create(
        {
          payment_intent: purchase.payment_id,
          amount: Number(amount_minor),
          metadata: { purchase_id: purchase.id },
        },
        { idempotencyKey: `tally-refund-${refund_key}` },
      );
      return refund.id;
    } catch (error) {
      throw providerFailure(error);
    }
  }

  /** A webhook's event, its signature checked: what it asks of which purchase. */
  verify(raw_body: string, signature: string | undefined): ProviderEvent {
    const secret = process.env[this.settings.webhook_secret_env];
    if (!secret) throw new TallyError('provider_failed', `${this.settings.webhook_secret_env} is not set`);
    let event: Stripe.Event;
    try {
      event = this.stripe().webhooks.constructEvent(raw_body, signature ?? '', secret);
    } catch (error) {
      throw new TallyError('provider_signature_invalid', (error as Error).message.split('\n')[0]);
    }
    return eventAction(event, createHash('sha256').update(raw_body).digest('hex'));
  }
}

function providerFailure(error: unknown): TallyError {
  const message = error instanceof Error ? error.message : String(error);
  return new TallyError('provider_failed', `Stripe: ${message}`);
}

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : value.id;

/** The Stripe events Tally acts on; any other is kept in the inbox as ignored. */
function eventAction(event: Stripe.Event, body_hash: string): ProviderEvent {
  const base = { provider: 'stripe' as const, event_id: event.id, type: event.type, body_hash };
  const fromSession = (session: Stripe.Checkout.Session) => ({
    ...base,
    purchase: session.client_reference_id ?? session.metadata?.purchase_id ?? null,
    session_id: session.id,
    payment_id: null,
  });
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = event.data.object;
      // A delayed method (a bank debit) completes the session unpaid: its success comes later.
      if (session.payment_status === 'unpaid')
        return { ...fromSession(session), action: { kind: 'ignored' } };
      return {
        ...fromSession(session),
        action: { kind: 'paid', payment_id: idOf(session.payment_intent) ?? session.id },
      };
    }
    case 'checkout.session.async_payment_failed':
      return {
        ...fromSession(event.data.object),
        action: { kind: 'failed', outcome: 'failed', reason: 'the delayed payment failed' },
      };
    case 'checkout.session.expired':
      return {
        ...fromSession(event.data.object),
        action: { kind: 'failed', outcome: 'expired', reason: 'the Checkout Session expired' },
      };
    case 'charge.refunded': {
      const charge = event.data.object;
      const refunds = charge.refunds?.data ?? [];
      return {
        ...base,
        purchase: charge.metadata?.purchase_id ?? null,
        session_id: null,
        payment_id: idOf(charge.payment_intent),
        action: {
          kind: 'refunded',
          refunded_total_minor: String(charge.amount_refunded),
          refund_id: refunds[0]?.id ?? event.id,
        },
      };
    }
    default:
      return { ...base, purchase: null, session_id: null, payment_id: null, action: { kind: 'ignored' } };
  }
}
