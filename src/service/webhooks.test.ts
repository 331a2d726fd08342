import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestTally, TEST_CONFIG } from '../../test/helpers.ts';
import type { TestClock } from './clock.ts';
import { IdGenerator } from './ids.ts';
import type { Tally } from './tally.ts';
import { Webhooks } from './webhooks.ts';

/** A real HTTP receiver that verifies every request's signature as a customer's server would. */
interface Receiver {
  url: string;
  received: { id: string; type: string; verified: boolean }[];
  /** Status codes to answer with, in order; then 204. */
  answers: number[];
  server: Server;
}

async function startReceiver(secret: () => string): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: [], answers: [], server: createServer() };
  receiver.server.on('request', (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      let verified = false;
      try {
        new Webhook(secret()).verify(body, request.headers as Record<string, string>);
        verified = true;
      } catch {}
      const event = JSON.parse(body) as { id: string; type: string };
      receiver.received.push({ id: event.id, type: event.type, verified });
      response.statusCode = receiver.answers.shift() ?? 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

let tally: Tally;
let clock: TestClock;
let receiver: Receiver;
let secret = '';

beforeEach(async () => {
  ({ tally, clock } = await openTestTally());
  receiver = await startReceiver(() => secret);
  await tally.putAccount({ id: 'ana', kind: 'user', low_balance_threshold: '50' });
});
afterEach(async () => {
  await new Promise((resolve) => receiver.server.close(resolve));
});

/** ana's balance goes from above her threshold (50) to below it: one balance.low event. */
async function crossBelowThreshold(): Promise<void> {
  await tally.issueGrant({ account: 'ana', kind: 'bonus', amount: '55' });
  await tally.charge({ account: 'ana', operation: 'web.extract', usage: {} });
}

const types = async (account = 'ana') =>
  (await tally.listEvents({ account, limit: 200 })).data.map((event) => event.type);

describe('events', () => {
  it('fires balance.low once per crossing of the threshold, and balance.depleted at zero', async () => {
    await tally.issueGrant({ account: 'ana', kind: 'bonus', amount: '100' });
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 6 } }); // 40 left: low
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 1 } }); // 30: still low
    expect(await types()).toEqual(['balance.low']);
    await tally.issueGrant({ account: 'ana', kind: 'bonus', amount: '100' }); // 130: re-armed
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 10 } }); // 30: low again
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 3 } }); // 0: depleted
    expect(await types()).toEqual(['balance.low', 'balance.low', 'balance.depleted']);
    const low = (await tally.listEvents({ type: 'balance.low', limit: 10 })).data[0]!;
    expect(low.data).toEqual({ account: 'ana', available: '40', threshold: '50' });
  });

  it('does not count opening an account below its threshold as a crossing', async () => {
    await tally.putAccount({ id: 'new', kind: 'user', low_balance_threshold: '50' });
    await tally.issueGrant({ account: 'new', kind: 'bonus', amount: '20' });
    expect(await types('new')).toEqual([]);
    await tally.charge({ account: 'new', operation: 'image.standard', usage: { images: 2 } });
    expect(await types('new')).toEqual(['balance.depleted']);
  });

  it('announces grants expiring soon, and reports expired grants and reservations', async () => {
    await tally.issueGrant({
      account: 'ana',
      kind: 'promo',
      amount: '200',
      expires_at: '2026-03-05T10:00:00Z',
    });
    await tally.reserve({ account: 'ana', operation: 'chat.fast', max_credits: '5', ttl_seconds: 60 });
    expect(await types()).toEqual([]);
    clock.set('2026-03-02T10:00:01Z'); // within 3 days of the expiry
    expect(await tally.bookDueWork()).toMatchObject({ reservations_expired: 1, grants_announced: 1 });
    expect(await types()).toEqual(['reservation.expired', 'grant.expiring_soon']);
    await tally.bookDueWork();
    expect(await types()).toHaveLength(2);
    clock.set('2026-03-05T10:00:00Z');
    await tally.bookDueWork();
    expect(await types()).toEqual([
      'reservation.expired',
      'grant.expiring_soon',
      'grant.expired',
      'balance.low',
      'balance.depleted',
    ]);
    const expired = (await tally.listEvents({ type: 'grant.expired', limit: 1 })).data[0]!;
    expect(expired.data).toMatchObject({ kind: 'promo', amount: '200' });
  });

  it('pages the feed with a cursor', async () => {
    await tally.issueGrant({ account: 'ana', kind: 'bonus', amount: '60' });
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 2 } }); // 40: low
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 4 } }); // 0: depleted
    const first = await tally.listEvents({ limit: 1 });
    const second = await tally.listEvents({ limit: 1, cursor: first.next_cursor! });
    expect([...first.data, ...second.data].map((event) => event.type)).toEqual([
      'balance.low',
      'balance.depleted',
    ]);
    expect(second.next_cursor).toBeNull();
  });
});

describe('webhooks', () => {
  it('delivers signed events; a receiver that fails 3 times gets the event exactly once successfully', async () => {
    const endpoint = await tally.webhooks.createEndpoint({ url: receiver.url, events: ['balance.low'] });
    secret = endpoint.secret;
    receiver.answers = [500, 503, 500];
    await tally.issueGrant({ account: 'ana', kind: 'bonus', amount: '100' });
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 6 } });

    expect(await tally.webhooks.dispatch()).toEqual({ fanned_out: 1, delivered: 0, failed_attempts: 1 });
    for (const wait_seconds of [5, 30, 120]) {
      expect(
        (await tally.webhooks.dispatch()).failed_attempts + (await tally.webhooks.dispatch()).delivered,
      ).toBe(0);
      clock.advanceSeconds(wait_seconds);
      await tally.webhooks.dispatch();
    }
    expect(receiver.received.map((request) => [request.type, request.verified])).toEqual([
      ['balance.low', true],
      ['balance.low', true],
      ['balance.low', true],
      ['balance.low', true],
    ]);
    expect(new Set(receiver.received.map((request) => request.id)).size).toBe(1);
    clock.advanceSeconds(86_400);
    await tally.webhooks.dispatch();
    expect(receiver.received).toHaveLength(4);
    const [delivery] = (await tally.webhooks.deliveries(endpoint.id)).data;
    expect(delivery).toMatchObject({ status: 'succeeded', next_attempt_at: null });
    expect(delivery!.attempts.map((attempt) => attempt.status_code)).toEqual([500, 503, 500, 204]);
  });

  it('gives up after 24 hours of failures, and replays by hand', async () => {
    const endpoint = await tally.webhooks.createEndpoint({ url: receiver.url, events: ['*'] });
    secret = endpoint.secret;
    receiver.answers = Array(100).fill(500);
    await tally.issueGrant({ account: 'ana', kind: 'bonus', amount: '60' });
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 6 } }); // balance.low + balance.depleted
    for (let hour = 0; hour <= 26; hour++) {
      await tally.webhooks.dispatch();
      clock.advanceSeconds(3_600);
    }
    const deliveries = (await tally.webhooks.deliveries(endpoint.id)).data;
    expect(deliveries.map((delivery) => delivery.status)).toEqual(['failed', 'failed']);
    const attempts = deliveries[0]!.attempts.length;
    expect(attempts).toBeGreaterThan(5);
    receiver.answers = [];
    await tally.webhooks.replay(deliveries[0]!.id);
    await tally.webhooks.dispatch();
    const [replayed] = (await tally.webhooks.deliveries(endpoint.id)).data;
    expect(replayed).toMatchObject({ status: 'succeeded' });
    expect(replayed!.attempts).toHaveLength(attempts + 1);
  });

  it('refuses endpoints with bad URLs or unknown event types', async () => {
    await expect(tally.webhooks.createEndpoint({ url: 'ftp://x', events: ['*'] })).rejects.toMatchObject({
      code: 'webhook_url_forbidden',
    });
    await expect(
      tally.webhooks.createEndpoint({ url: receiver.url, events: ['balance.hight'] }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await tally.webhooks.listEndpoints()).toEqual([]);
  });

  it('refuses internal addresses at registration, in every notation, and loopback unless the configuration allows it', async () => {
    const strict = (await openTestTally({ config: { ...TEST_CONFIG, webhooks: { allow_loopback: false } } }))
      .tally;
    const internal = [
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1/hooks',
      'http://[::1]/hooks',
      'http://0.0.0.0/hooks',
      'http://10.1.2.3/hooks',
      'http://172.20.0.1/hooks',
      'http://192.168.1.1/hooks',
      'http://100.64.0.1/hooks',
      'http://2130706433/hooks',
      'http://0x7f000001/hooks',
      'http://0177.0.0.1/hooks',
      'http://[::ffff:169.254.169.254]/hooks',
      'http://[fd00::1]/hooks',
      'http://[fe80::1]/hooks',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://localhost:8080/hooks',
      'http://api.localhost/hooks',
      'https://user:pass@hooks.example.com/hooks',
      'gopher://hooks.example.com/',
    ];
    for (const url of internal) {
      const refused = await strict.webhooks
        .createEndpoint({ url, events: ['*'] })
        .catch((error: unknown) => error);
      expect([url, (refused as { code?: string }).code]).toEqual([url, 'webhook_url_forbidden']);
    }
    expect(await strict.webhooks.listEndpoints()).toEqual([]);
    await expect(
      strict.webhooks.createEndpoint({ url: 'https://hooks.example.com/tally', events: ['*'] }),
    ).resolves.toMatchObject({ url: 'https://hooks.example.com/tally' });
    // With allow_loopback (these tests' configuration), loopback is allowed, and nothing else internal is.
    await expect(
      tally.webhooks.createEndpoint({ url: 'http://127.0.0.1:9/hooks', events: ['*'] }),
    ).resolves.toBeDefined();
    await expect(
      tally.webhooks.createEndpoint({ url: 'http://10.0.0.1/hooks', events: ['*'] }),
    ).rejects.toMatchObject({ code: 'webhook_url_forbidden' });
    await strict.close();
  });

  it('checks the addresses a name resolves to at delivery, and never connects to an internal one', async () => {
    // DNS is outside Tally: a name that resolved to a public address when it was registered now points inside.
    const resolved: string[] = [];
    const resolve = async (hostname: string) => {
      resolved.push(hostname);
      return [{ address: '169.254.169.254', family: 4 }];
    };
    const webhooks = new Webhooks(tally.store, clock, new IdGenerator(), { allow_loopback: true }, resolve);
    await webhooks.createEndpoint({ url: 'http://hooks.example.com/tally', events: ['*'] });
    await crossBelowThreshold();
    const report = await webhooks.dispatch();
    expect(report.delivered).toBe(0);
    expect(report.failed_attempts).toBeGreaterThan(0);
    expect(resolved).toContain('hooks.example.com');
    const [endpoint] = await webhooks.listEndpoints();
    const [delivery] = (await webhooks.deliveries(endpoint!.id)).data;
    expect(delivery!.attempts[0]).toMatchObject({
      status_code: null,
      error: 'refused: hooks.example.com resolves to 169.254.169.254 is a private or reserved address',
    });
  });

  it('does not follow redirects: a 3xx is a failed attempt, and the place it points at is never reached', async () => {
    const elsewhere = await startReceiver(() => secret);
    const redirecting = createServer((_request, response) => {
      response.writeHead(302, { location: elsewhere.url });
      response.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = await tally.webhooks.createEndpoint({
        url: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hooks`,
        events: ['*'],
      });
      await crossBelowThreshold();
      expect(await tally.webhooks.dispatch()).toMatchObject({ delivered: 0, failed_attempts: 1 });
      expect(elsewhere.received).toEqual([]);
      const [delivery] = (await tally.webhooks.deliveries(endpoint.id)).data;
      expect(delivery!.attempts[0]).toMatchObject({ status_code: 302, error: 'HTTP 302' });
    } finally {
      await new Promise((resolve) => redirecting.close(resolve));
      await new Promise((resolve) => elsewhere.server.close(resolve));
    }
  });

  it('delivers concurrently: a receiver that never answers holds up none of the others', async () => {
    const hanging = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      await tally.webhooks.createEndpoint({
        url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/dead`,
        events: ['*'],
      });
      const live = await tally.webhooks.createEndpoint({ url: receiver.url, events: ['*'] });
      secret = live.secret;
      await crossBelowThreshold();
      const pass = tally.webhooks.dispatch();
      // The live receiver hears every event while the dead one still holds its connections open.
      const events = (await tally.listEvents({ account: 'ana', limit: 200 })).data.length;
      expect(events).toBe(1);
      while (receiver.received.length < events) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(receiver.received.every((message) => message.verified)).toBe(true);
      hanging.closeAllConnections();
      expect((await pass).delivered).toBe(events);
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });
});
