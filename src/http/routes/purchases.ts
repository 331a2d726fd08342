/** Packs, purchases, auto-recharge and the payment providers' webhooks (SPEC C9). */
import { z } from 'zod';
import {
  autoRechargeAnswer,
  packListAnswer,
  pageAnswer,
  providerEventAnswer,
  purchaseAnswer,
} from '../../schema/answers.ts';
import { autoRechargeInput, createPurchaseInput, refundPurchaseInput } from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import { objectBody, pageLimit, type RouteDefinition, without } from './route.ts';

const purchasesQuery = z.strictObject({
  cursor: z.string().max(128).optional(),
  limit: pageLimit,
});
const allPurchasesQuery = purchasesQuery.extend({
  status: z.enum(['pending', 'paid', 'failed', 'expired', 'refunded', 'partially_refunded']).optional(),
});

export const purchasesRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/packs',
    summary: 'Credit packs: credits, bonus, price, unit price per credit and discount against the base pack',
    tag: 'purchases',
    access: 'public',
    customer: true,
    answer: packListAnswer,
    handle: ({ tally }) => tally.listPacks(),
  },
  {
    method: 'post',
    path: '/v1/purchases',
    summary:
      'Buy a pack: pending until its provider confirms (the test provider at once; Stripe at checkout_url)',
    tag: 'purchases',
    access: 'write',
    customer: true,
    body: createPurchaseInput,
    idempotent: true,
    answer: purchaseAnswer,
    handle: ({ tally, body, options, ownAccount }) => {
      const request = objectBody(body);
      ownAccount(typeof request.account === 'string' ? request.account : undefined);
      return tally.purchase(request as never, options);
    },
  },
  {
    method: 'get',
    path: '/v1/purchases',
    summary: 'Every purchase, newest first (the console)',
    tag: 'purchases',
    access: 'read',
    customer: false,
    query: allPurchasesQuery,
    answer: pageAnswer(purchaseAnswer),
    handle: ({ tally, query }) => tally.listPurchases(parseInput(allPurchasesQuery, query)),
  },
  {
    method: 'get',
    path: '/v1/purchases/{id}',
    summary: 'A purchase, with its grants and refunds',
    tag: 'purchases',
    access: 'read',
    customer: true,
    answer: purchaseAnswer,
    handle: async ({ tally, params, ownAccount }) => {
      const purchase = await tally.getPurchase(params.id!);
      ownAccount(purchase.account, 'purchase_not_found');
      return purchase;
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/purchases',
    summary: "An account's purchases, newest first",
    tag: 'purchases',
    access: 'read',
    customer: true,
    query: purchasesQuery,
    answer: pageAnswer(purchaseAnswer),
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.listPurchases({ ...parseInput(purchasesQuery, query), account: params.id });
    },
  },
  {
    method: 'post',
    path: '/v1/purchases/{id}/confirm',
    summary: 'Confirm that a manual purchase was paid (an invoice): its credits are granted, once; audited',
    tag: 'purchases',
    access: 'admin',
    customer: false,
    body: z.strictObject({ reference: z.string().max(500).optional() }),
    idempotent: true,
    answer: purchaseAnswer,
    handle: ({ tally, params, body, options }) => {
      const { reference } = parseInput(
        z.strictObject({ reference: z.string().max(500).optional() }),
        body ?? {},
      );
      return tally.payments.confirm(params.id!, reference, options);
    },
  },
  {
    method: 'post',
    path: '/v1/purchases/{id}/refund',
    summary:
      'Refund a purchase (all, or an amount of money): the same fraction of its credits is taken back, bonus included',
    tag: 'purchases',
    access: 'admin',
    customer: false,
    body: refundPurchaseInput.omit({ purchase: true, provider_refund_id: true }),
    idempotent: true,
    answer: purchaseAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.refundPurchase({ ...objectBody(body), purchase: params.id } as never, options),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/auto-recharge',
    summary: "The account's auto-recharge settings, or null",
    tag: 'purchases',
    access: 'read',
    customer: true,
    answer: autoRechargeAnswer.nullable(),
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.getAutoRecharge(params.id!);
    },
  },
  {
    method: 'put',
    path: '/v1/accounts/{id}/auto-recharge',
    summary:
      'Auto-recharge: below the threshold buy one pack, at most monthly_max credits a month; saving again resumes it',
    tag: 'purchases',
    access: 'write',
    customer: true,
    body: without(autoRechargeInput, 'account'),
    idempotent: true,
    answer: autoRechargeAnswer,
    handle: ({ tally, params, body, options, ownAccount }) => {
      ownAccount(params.id);
      return tally.setAutoRecharge({ ...objectBody(body), account: params.id } as never, options);
    },
  },
  {
    method: 'get',
    path: '/v1/providers/events',
    summary: "The payment providers' events as received: each once, and what was made of it",
    tag: 'purchases',
    access: 'admin',
    customer: false,
    query: z.strictObject({ limit: pageLimit }),
    answer: pageAnswer(providerEventAnswer),
    handle: async ({ tally, query }) => ({
      data: await tally.listProviderEvents(query.limit === undefined ? undefined : Number(query.limit)),
      next_cursor: null,
    }),
  },
  {
    method: 'post',
    path: '/v1/providers/stripe/webhook',
    summary: "Stripe's events, signed (Stripe-Signature): each applied once, whatever their order",
    tag: 'purchases',
    access: 'public',
    customer: true,
    raw_body: true,
    answer: z.strictObject({ received: z.literal(true), outcome: z.string(), replayed: z.boolean() }),
    handle: ({ tally, body, header }) =>
      tally.payments.stripeWebhook(body as string, header('stripe-signature')),
  },
];
