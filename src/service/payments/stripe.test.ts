/**
 * Purchases through Stripe: the real `stripe` client against a local stand-in for Stripe's HTTP
 * API (the package takes host, port and protocol), and webhooks signed the way Stripe signs
 * them (`stripe.webhooks.generateTestHeaderString`), sent to Tally's HTTP endpoint.
 */
import { createServer, type Server } from 'node:http';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestTally } from '../../../test/helpers.ts';
import { type RunningServer, startServer } from '../../http/server.ts';
import type { Tally } from '../tally.ts';

const ADMIN = 'sk_admin_stripe_test_0123456789';
const WEBHOOK_SECRET = 'whsec_tally_stripe_test';
const signer = new Stripe('sk_test_signer');

/** What reached the stand-in. */
const received: { path: string; form: URLSearchParams }[] = [];
/** Run before the stand-in answers a session's creation (a webhook that overtakes it). */
let before_session_answer: ((session_id: string, purchase_id: string) => Promise<void>) | undefined;
let sessions = 0;

let stand_in: Server;
let server: RunningServer;
let tally: Tally;

function event(type: string, object: Record<string, unknown>, id = `evt_${type}_${sessions}`) {
  return JSON.stringify({ id, object: 'event', type, api_version: '2025-01-01', data: { object } });
}

async function deliver(
  payload: string,
  signature = signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }),
) {
  const response = await fetch(`${server.url}/v1/providers/stripe/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body: payload,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const completed = (session_id: string, purchase_id: string, payment_intent = `pi_${session_id}`) =>
  event(
    'checkout.session.completed',
    {
      id: session_id,
      object: 'checkout.session',
      client_reference_id: purchase_id,
      payment_status: 'paid',
      payment_intent,
      metadata: { purchase_id },
    },
    `evt_completed_${session_id}`,
  );

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Parsed loosely: each test reads the fields it checks.
  return { status: response.status, json: JSON.parse(await response.text()) };
}

beforeAll(async () => {
  stand_in = createServer((request, response) => {
    let raw = '';
    request.on('data', (part: Buffer) => (raw += part.toString()));
    request.on('end', async () => {
      const form = new URLSearchParams(raw);
      received.push({ path: request.url ?? '', form });
      response.setHeader('content-type', 'application/json');
      if (request.url === '/v1/checkout/sessions') {
        const id = `cs_test_${++sessions}`;
        const purchase_id = form.get('client_reference_id')!;
        await before_session_answer?.(id, purchase_id);
        response.end(
          JSON.stringify({
            id,
            object: 'checkout.session',
            url: `https://checkout.stripe.test/${id}`,
            client_reference_id: purchase_id,
          }),
        );
      } else if (request.url === '/v1/refunds') {
        response.end(
          JSON.stringify({
            id: `re_${received.length}`,
            object: 'refund',
            amount: Number(form.get('amount')),
          }),
        );
      } else {
        response.statusCode = 404;
        response.end(
          JSON.stringify({ error: { type: 'invalid_request_error', message: 'not in the stand-in' } }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => stand_in.listen(0, '127.0.0.1', resolve));
  process.env.STRIPE_SECRET_KEY = 'sk_test_tally';
  process.env.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET;
  ({ tally } = await openTestTally({
    config: {
      packs: [{ id: 'starter', name: 'Starter', credits: 1000, price: { USD: '10.00' } }],
      payments: {
        provider: 'stripe',
        stripe: {
          success_url: 'https://app.example/paid',
          cancel_url: 'https://app.example/shop',
          api: { host: '127.0.0.1', port: (stand_in.address() as { port: number }).port, protocol: 'http' },
        },
      },
    },
  }));
  await tally.access.createKey({ scope: 'admin', name: 'stripe test', secret: ADMIN });
  await tally.putAccount({ id: 'ann', kind: 'user' });
  server = await startServer({ tally, port: 0 });
});

afterAll(async () => {
  await server?.close();
  stand_in?.close();
  await tally?.close();
});

describe('Stripe', () => {
  it('creates a Checkout Session, grants once on its signed webhook, however often it comes', async () => {
    const created = await api('POST', '/v1/purchases', { account: 'ann', pack: 'starter' });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      status: 'pending',
      checkout_url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\/cs_test_/),
    });
    const session = received.at(-1)!;
    expect(session.form.get('line_items[0][price_data][unit_amount]')).toBe('1000');
    expect(session.form.get('line_items[0][price_data][currency]')).toBe('usd');
    const session_id = (created.json.checkout_url as string).split('/').at(-1)!;
    const payload = completed(session_id, created.json.id);
    const answers = await Promise.all([deliver(payload), deliver(payload), deliver(payload)]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(answers.filter((answer) => answer.json.replayed === false)).toHaveLength(1);
    const paid = await api('GET', `/v1/purchases/${created.json.id}`);
    expect(paid.json).toMatchObject({ status: 'paid', grant: { amount: '1000', kind: 'purchased' } });
    expect((await tally.getBalance('ann')).available).toBe('1000');
  });

  it('grants once when the confirmation arrives before the session is recorded', async () => {
    before_session_answer = async (session_id, purchase_id) => {
      expect((await deliver(completed(session_id, purchase_id))).status).toBe(200);
    };
    const balance = Number((await tally.getBalance('ann')).available);
    const created = await api('POST', '/v1/purchases', { account: 'ann', pack: 'starter' });
    before_session_answer = undefined;
    expect(created.json.status).toBe('paid');
    expect(Number((await tally.getBalance('ann')).available)).toBe(balance + 1000);
  });

  it('refuses a tampered signature and a replayed event with another body, changing nothing', async () => {
    const created = await api('POST', '/v1/purchases', { account: 'ann', pack: 'starter' });
    const session_id = (created.json.checkout_url as string).split('/').at(-1)!;
    const payload = completed(session_id, created.json.id);
    const tampered = await deliver(
      payload.replace('"paid"', '"PAID"'),
      signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }),
    );
    expect([tampered.status, tampered.json.code]).toEqual([400, 'provider_signature_invalid']);
    const unsigned = await deliver(payload, 't=1,v1=00');
    expect(unsigned.json.code).toBe('provider_signature_invalid');
    expect((await api('GET', `/v1/purchases/${created.json.id}`)).json.status).toBe('pending');
    expect((await deliver(payload)).status).toBe(200);
    const other = await deliver(completed(session_id, created.json.id, 'pi_other'));
    expect([other.status, other.json.code]).toEqual([409, 'provider_event_conflict']);
    expect((await api('GET', `/v1/purchases/${created.json.id}`)).json).toMatchObject({ status: 'paid' });
  });

  it('refunds through Stripe with its clawback, and the refund webhook after it changes nothing more', async () => {
    const created = await api('POST', '/v1/purchases', { account: 'ann', pack: 'starter' });
    const session_id = (created.json.checkout_url as string).split('/').at(-1)!;
    await deliver(completed(session_id, created.json.id));
    const balance = Number((await tally.getBalance('ann')).available);
    const refunded = await api('POST', `/v1/purchases/${created.json.id}/refund`, {
      amount: '4.00',
      reason: 'asked',
    });
    expect(refunded.json).toMatchObject({ status: 'partially_refunded', refunds: [{ clawed_back: '400' }] });
    const refund_call = received.at(-1)!;
    expect([
      refund_call.path,
      refund_call.form.get('payment_intent'),
      refund_call.form.get('amount'),
    ]).toEqual(['/v1/refunds', `pi_${session_id}`, '400']);
    const webhook = await deliver(
      event('charge.refunded', {
        id: 'ch_1',
        object: 'charge',
        payment_intent: `pi_${session_id}`,
        amount_refunded: 400,
        refunds: { data: [{ id: 're_x' }] },
        metadata: {},
      }),
    );
    expect(webhook.json).toMatchObject({ outcome: 'ignored' });
    expect(Number((await tally.getBalance('ann')).available)).toBe(balance - 400);
    expect((await tally.verify()).ok).toBe(true);
  });
});
