/**
 * Purchases with two Tally processes on one PostgreSQL database: a payment confirmation that
 * arrives several times at once, refunds racing under their own keys, and concurrent settles
 * crossing an auto-recharge threshold. Real `tally serve` processes, real HTTP.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTally } from '../src/index.ts';
import { dialects } from './dialects.ts';
import { createDatabase } from './postgres-server.ts';
import { startTallyServe } from './serve-process.ts';

const ADMIN = 'sk_admin_purchases_0123456789';
const WEBHOOK_SECRET = 'whsec_purchases_multi_process';
const directory = mkdtempSync(join(tmpdir(), 'tally-purchases-'));
const config = join(directory, 'tally.config.yaml');
writeFileSync(
  config,
  `price_book:
  operations:
    run:
      rates: { credits: "1" }
packs:
  - { id: starter, credits: 1000, price: { USD: "10.00" } }
payments:
  provider: manual
  providers: [manual, stripe]
  stripe: { success_url: "https://app.example/paid", cancel_url: "https://app.example/shop" }
`,
);
const signer = new Stripe('sk_test_signer');

interface Process {
  url: string;
  child: ChildProcess;
}

async function call(running: Process, method: string, path: string, body?: unknown, key?: string) {
  const response = await fetch(`${running.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      'content-type': 'application/json',
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Parsed loosely: each test reads the fields it checks.
  return { status: response.status, json: JSON.parse(await response.text()) };
}

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe.runIf(dialects.includes('postgres'))('purchases on two processes, one PostgreSQL database', () => {
  let database_url = '';
  let processes: Process[] = [];

  beforeAll(async () => {
    process.env.STRIPE_SECRET_KEY = 'sk_test_tally';
    process.env.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET;
    database_url = await createDatabase(inject('postgres_url'));
    processes = await Promise.all(
      [1, 2].map(() => startTallyServe(['--database-url', database_url, '--config', config], ADMIN)),
    );
  }, 120_000);
  afterAll(async () => {
    for (const running of processes) {
      const exited = new Promise((resolve) => running.child.once('exit', resolve));
      running.child.kill('SIGTERM');
      await exited;
    }
  });

  it('grants once for a confirmation delivered three times at once, to both processes', async () => {
    const [a, b] = processes as [Process, Process];
    await call(a, 'PUT', '/v1/accounts/buyer', { kind: 'user' });
    const purchase = (await call(a, 'POST', '/v1/purchases', { account: 'buyer', pack: 'starter' })).json;
    expect(purchase.status).toBe('pending');
    const payload = JSON.stringify({
      id: 'evt_paid_once',
      object: 'event',
      type: 'checkout.session.completed',
      data: {
        object: {
          id: 'cs_race',
          object: 'checkout.session',
          client_reference_id: purchase.id,
          payment_status: 'paid',
          payment_intent: 'pi_race',
        },
      },
    });
    const deliver = (running: Process) =>
      fetch(`${running.url}/v1/providers/stripe/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'stripe-signature': signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }),
        },
        body: payload,
      }).then((response) => response.status);
    expect(await Promise.all([deliver(a), deliver(b), deliver(a)])).toEqual([200, 200, 200]);
    expect((await call(b, 'GET', `/v1/purchases/${purchase.id}`)).json.status).toBe('paid');
    expect((await call(b, 'GET', '/v1/accounts/buyer/balance')).json.available).toBe('1000');
    const grants = (await call(a, 'GET', '/v1/accounts/buyer/grants')).json.data;
    expect(grants).toHaveLength(1);
  });

  it('refunds at most what was paid: 20 refunds of $1 of a $10 purchase under their own keys', async () => {
    const [a, b] = processes as [Process, Process];
    await call(a, 'PUT', '/v1/accounts/refunded', { kind: 'user' });
    const purchase = (await call(a, 'POST', '/v1/purchases', { account: 'refunded', pack: 'starter' })).json;
    await call(b, 'POST', `/v1/purchases/${purchase.id}/confirm`, { reference: 'INV-1' });
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        call(
          [a, b][index % 2]!,
          'POST',
          `/v1/purchases/${purchase.id}/refund`,
          { amount: '1.00', reason: 'race' },
          `refund-${index}`,
        ).then((answer) => (answer.status === 200 ? 'ok' : answer.json.code)),
      ),
    );
    expect(statuses.filter((status) => status === 'ok')).toHaveLength(10);
    expect(
      statuses
        .filter((status) => status !== 'ok')
        .every((code) => ['refund_exceeds_purchase', 'purchase_not_refundable'].includes(code)),
    ).toBe(true);
    expect((await call(a, 'GET', `/v1/purchases/${purchase.id}`)).json.status).toBe('refunded');
    expect((await call(b, 'GET', '/v1/accounts/refunded/balance')).json.available).toBe('0');
  });

  it('starts exactly one recharge when 50 concurrent charges on both processes cross the threshold', async () => {
    const [a, b] = processes as [Process, Process];
    await call(a, 'PUT', '/v1/accounts/recharged', { kind: 'user' });
    expect(
      (await call(a, 'POST', '/v1/accounts/recharged/grants', { kind: 'bonus', amount: '1000' })).status,
    ).toBe(200);
    const settings = await call(b, 'PUT', '/v1/accounts/recharged/auto-recharge', {
      enabled: true,
      threshold: '600',
      pack: 'starter',
    });
    expect(settings.json, JSON.stringify(settings.json)).toMatchObject({
      enabled: true,
      in_flight_purchase: null,
    });
    const charged = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        call([a, b][index % 2]!, 'POST', '/v1/charges', {
          account: 'recharged',
          operation: 'run',
          usage: { credits: 10 },
        }).then((answer) => answer.status),
      ),
    );
    expect(charged.every((status) => status === 200)).toBe(true);
    const purchases = (await call(a, 'GET', '/v1/accounts/recharged/purchases')).json.data;
    expect(purchases).toHaveLength(1);
    expect(purchases[0]).toMatchObject({ auto_recharge: true, status: 'pending' });
    expect((await call(b, 'GET', '/v1/accounts/recharged/auto-recharge')).json.in_flight_purchase).toBe(
      purchases[0].id,
    );
    const tally = await createTally({ database_url, config });
    const report = await tally.verify();
    await tally.close();
    expect(report.problems).toEqual([]);
  });
});
