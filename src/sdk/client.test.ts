/** The SDK against a real server on a loopback port. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestTally } from '../../test/helpers.ts';
import { type RunningServer, startServer } from '../http/server.ts';
import type { Tally } from '../service/tally.ts';
import { TallyApiError, TallyClient } from './client.ts';

const ADMIN = 'sk_admin_sdk_test_0123456789';
let tally: Tally;
let server: RunningServer;
let client: TallyClient;

beforeAll(async () => {
  const opened = await openTestTally();
  tally = opened.tally;
  await tally.access.createKey({ scope: 'admin', name: 'sdk test', secret: ADMIN });
  server = await startServer({ tally, port: 0, test_clock: opened.clock });
  client = new TallyClient({ url: server.url, credential: ADMIN });
});
afterAll(async () => {
  await server.close();
  await tally.close();
});

describe('SDK', () => {
  it('runs a customer journey over HTTP with typed answers', async () => {
    await client.putAccount('zoe', { kind: 'user', timezone: 'Europe/Madrid' });
    await client.issueGrant('zoe', { kind: 'free', amount: '50' }, { idempotency_key: 'welcome' });
    await client.issueGrant('zoe', { kind: 'free', amount: '50' }, { idempotency_key: 'welcome' });
    expect((await client.balance('zoe')).available).toBe('50');

    const { token } = await client.customerToken('zoe');
    const customer = client.as(token);
    const estimate = await customer.estimate({
      account: 'zoe',
      operation: 'image.standard',
      usage: { images: 2 },
    });
    expect(estimate).toMatchObject({ credits_expected: '20', affordable: true, runs_affordable: 2 });
    // Metering is the backend's (a write key); the customer's token reads what it did.
    await expect(
      customer.reserve({ account: 'zoe', operation: 'image.standard', usage: { images: 2 } }),
    ).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    const reservation = await client.reserve({
      account: 'zoe',
      operation: 'image.standard',
      usage: { images: 2 },
    });
    const charge = await client.settle(reservation.id, { usage: { images: 1 } });
    expect(charge.credits).toBe('10');
    expect((await customer.charges({ account: 'zoe' })).data.map((row) => row.id)).toEqual([charge.id]);
    expect(await customer.chargesCsv({ account: 'zoe' })).toContain(charge.id);
    expect((await customer.usage('zoe', { group_by: 'operation' })).groups).toEqual([
      { key: 'image.standard', credits: '10', count: 1, failed: 0 },
    ]);
  });

  it('surfaces refusals as typed errors carrying the code', async () => {
    const error = await client
      .reserve({ account: 'zoe', operation: 'image.standard', usage: { images: 100 } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TallyApiError);
    expect(error).toMatchObject({
      code: 'insufficient_credits',
      status: 402,
      problem: { needed: '1000', available: '40' },
    });
    const anonymous = new TallyClient({ url: server.url });
    await expect(anonymous.balance('zoe')).rejects.toMatchObject({ code: 'unauthenticated', status: 401 });
    expect((await anonymous.prices()).version).toBe(1);
  });
});
