import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeEach, describe, expect, it } from 'vitest';
import { ledgerSnapshot, openTestTally } from '../../test/helpers.ts';
import type { TestClock } from '../service/clock.ts';
import type { Tally } from '../service/tally.ts';
import { createApp } from './app.ts';
import { routes, testClockRoutes } from './routes/index.ts';

const listedCount = (document: { paths: Record<string, object> }) =>
  Object.values(document.paths).reduce((count, operations) => count + Object.keys(operations).length, 0);

const ADMIN = 'sk_admin_test_0123456789abcdef';
let tally: Tally;
let clock: TestClock;
let app: ReturnType<typeof createApp>;
let write_key: string;
let read_key: string;

async function call(
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await app.request(path, {
    method,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : text,
  };
}

beforeEach(async () => {
  ({ tally, clock } = await openTestTally());
  app = createApp({ tally, test_clock: clock });
  await tally.access.createKey({ scope: 'admin', name: 'test', secret: ADMIN });
  write_key = (await call('POST', '/v1/keys', { key: ADMIN, body: { scope: 'write', name: 'backend' } })).json
    .secret;
  read_key = (await call('POST', '/v1/keys', { key: ADMIN, body: { scope: 'read', name: 'analytics' } })).json
    .secret;
  await call('PUT', '/v1/accounts/alice', {
    key: write_key,
    body: { kind: 'user', timezone: 'Europe/Paris' },
  });
  await call('PUT', '/v1/accounts/bob', { key: write_key, body: { kind: 'user' } });
  await call('POST', '/v1/accounts/alice/grants', { key: write_key, body: { kind: 'bonus', amount: '100' } });
  await call('POST', '/v1/accounts/bob/grants', { key: write_key, body: { kind: 'bonus', amount: '100' } });
});

describe('HTTP API', () => {
  it('runs the whole flow: account, grant, reserve, settle, balance, charge', async () => {
    expect((await call('GET', '/healthz')).json).toEqual({ ok: true });
    const reservation = await call('POST', '/v1/reservations', {
      key: write_key,
      body: { account: 'alice', operation: 'chat.fast', max_credits: '30', metadata: { thread: 't-1' } },
    });
    expect(reservation.status).toBe(200);
    expect(reservation.json).toMatchObject({ status: 'held', amount: '30', price_version: 1 });
    const charge = await call('POST', `/v1/reservations/${reservation.json.id}/settle`, {
      key: write_key,
      body: { usage: { input_tokens: 5000, output_tokens: 1000 } },
    });
    expect(charge.json).toMatchObject({ credits: '9', outcome: 'succeeded', metadata: { thread: 't-1' } });
    expect((await call('GET', `/v1/charges/${charge.json.id}`, { key: read_key })).json.credits).toBe('9');
    const balance = await call('GET', '/v1/accounts/alice/balance', { key: read_key });
    expect(balance.json).toMatchObject({
      available: '91',
      held: '0',
      by_kind: { bonus: { available: '91' } },
    });
    const prices = await call('GET', '/v1/prices');
    expect(prices.json.operations.map((operation: { id: string }) => operation.id)).toContain('chat.fast');
  });

  it('answers bad input with problem+json, the right code, and an unchanged journal', async () => {
    const before = await ledgerSnapshot(tally);
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/v1/accounts/alice/grants', { kind: 'bonus', amount: '-1' }, 400, 'amount_not_positive'],
      ['POST', '/v1/accounts/alice/grants', { kind: 'bonus', amount: 'abc' }, 400, 'amount_invalid'],
      [
        'POST',
        '/v1/accounts/alice/grants',
        { kind: 'bonus', amount: '0.0000001' },
        400,
        'amount_too_precise',
      ],
      [
        'POST',
        '/v1/accounts/alice/grants',
        { kind: 'bonus', amount: '99999999999' },
        400,
        'amount_out_of_range',
      ],
      [
        'POST',
        '/v1/accounts/alice/grants',
        { kind: 'bonus', amount: '1', surprise: true },
        400,
        'invalid_request',
      ],
      ['POST', '/v1/accounts/nobody/grants', { kind: 'bonus', amount: '1' }, 404, 'account_not_found'],
      ['PUT', '/v1/accounts/carol', { kind: 'user', timezone: 'Nowhere/Land' }, 400, 'timezone_invalid'],
      [
        'POST',
        '/v1/reservations',
        { account: 'alice', operation: 'nope', max_credits: '1' },
        404,
        'operation_not_found',
      ],
      [
        'POST',
        '/v1/reservations',
        { account: 'alice', operation: 'chat.fast', max_credits: '1000' },
        402,
        'insufficient_credits',
      ],
      ['POST', '/v1/reservations/rsv_nope/settle', { usage: {} }, 404, 'reservation_not_found'],
      [
        'POST',
        '/v1/charges',
        { account: 'alice', operation: 'chat.fast', usage: { pixels: 1 } },
        400,
        'usage_dimension_unknown',
      ],
      ['POST', '/v1/charges', '{"account": ', 400, 'invalid_request'],
      ['POST', '/v1/grants/gr_nope/revoke', { reason: 'x' }, 404, 'grant_not_found'],
      [
        'POST',
        '/v1/accounts/alice/grants',
        { kind: 'bonus', amount: '1', reason: 'x'.repeat(501) },
        400,
        'invalid_request',
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const response = await call(method, path, { key: write_key, body });
      expect([path, response.status, response.json.code]).toEqual([path, status, code]);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.json).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    }
    const refusal = await call('POST', '/v1/reservations', {
      key: write_key,
      body: { account: 'alice', operation: 'chat.fast', max_credits: '1000' },
    });
    expect(refusal.json).toMatchObject({ needed: '1000', available: '100', options: ['top_up'] });
    const fields = await call('POST', '/v1/accounts/alice/grants', {
      key: write_key,
      body: { kind: 'bonus', amount: '-1' },
    });
    expect(fields.json.errors).toEqual([
      { field: 'amount', code: 'amount_not_positive', message: 'must be greater than zero' },
    ]);
    expect(await ledgerSnapshot(tally)).toEqual(before);
  });

  it('refuses settling twice, or after the reservation expired, and changes nothing', async () => {
    const settled = await call('POST', '/v1/reservations', {
      key: write_key,
      body: { account: 'alice', operation: 'web.extract' },
    });
    await call('POST', `/v1/reservations/${settled.json.id}/settle`, { key: write_key, body: { usage: {} } });
    const lapsing = await call('POST', '/v1/reservations', {
      key: write_key,
      body: { account: 'alice', operation: 'web.extract', ttl_seconds: 1 },
    });
    clock.advanceSeconds(2);
    await tally.bookDueWork();
    const before = await ledgerSnapshot(tally);
    const twice = await call('POST', `/v1/reservations/${settled.json.id}/settle`, {
      key: write_key,
      body: { usage: {} },
    });
    expect([twice.status, twice.json.code]).toEqual([409, 'reservation_already_settled']);
    const late = await call('POST', `/v1/reservations/${lapsing.json.id}/settle`, {
      key: write_key,
      body: { usage: {} },
    });
    expect([late.status, late.json.code]).toEqual([409, 'reservation_expired']);
    expect(await ledgerSnapshot(tally)).toEqual(before);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const response = await call('POST', '/v1/charges', {
      key: write_key,
      body: JSON.stringify({ account: 'alice', padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.json.code).toBe('payload_too_large');
  });

  it('replays an idempotent request and refuses the same key with another body', async () => {
    const body = { account: 'alice', operation: 'chat.fast', max_credits: '10' };
    const headers = { 'idempotency-key': 'order-1' };
    const first = await call('POST', '/v1/reservations', { key: write_key, body, headers });
    const again = await call('POST', '/v1/reservations', { key: write_key, body, headers });
    expect(again.json).toEqual(first.json);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const conflict = await call('POST', '/v1/reservations', {
      key: write_key,
      body: { ...body, max_credits: '11' },
      headers,
    });
    expect([conflict.status, conflict.json.code]).toEqual([409, 'idempotency_key_reused']);
    const concurrent = await Promise.all(
      [1, 2, 3].map(() =>
        call('POST', '/v1/reservations', { key: write_key, body, headers: { 'idempotency-key': 'order-2' } }),
      ),
    );
    expect(new Set(concurrent.map((response) => response.json.id)).size).toBe(1);
    expect((await tally.getBalance('alice')).held).toBe('20');
  });

  it('checks keys and scopes', async () => {
    expect((await call('GET', '/v1/accounts/alice/balance')).json.code).toBe('unauthenticated');
    expect(
      (await call('GET', '/v1/accounts/alice/balance', { key: 'sk_forged_0123456789abcdef' })).status,
    ).toBe(401);
    const denied = await call('POST', '/v1/accounts/alice/grants', {
      key: read_key,
      body: { kind: 'bonus', amount: '5' },
    });
    expect([denied.status, denied.json.code]).toEqual([403, 'forbidden']);
    expect(
      (await call('POST', '/v1/keys', { key: write_key, body: { scope: 'admin', name: 'x' } })).status,
    ).toBe(403);
    const keys = await call('GET', '/v1/keys', { key: ADMIN });
    expect(keys.json.data).toHaveLength(3);
    expect(JSON.stringify(keys.json)).not.toContain(write_key);
    const write_id = keys.json.data.find((key: { scope: string }) => key.scope === 'write').id;
    await call('POST', `/v1/keys/${write_id}/revoke`, { key: ADMIN });
    expect((await call('GET', '/v1/accounts/alice', { key: write_key })).status).toBe(401);
    expect((await tally.getBalance('alice')).available).toBe('100');
  });

  it('lets a customer token read and estimate its own account, never meter, and answers another account as not found', async () => {
    const token = (
      await call('POST', '/v1/accounts/alice/tokens', { key: write_key, body: { ttl_seconds: 600 } })
    ).json.token;
    expect(token).toMatch(/^ct_/);
    expect((await call('GET', '/v1/accounts/alice/balance', { key: token })).json.available).toBe('100');
    const estimate = await call('POST', '/v1/estimates', {
      key: token,
      body: { account: 'alice', operation: 'web.extract' },
    });
    expect(estimate.json).toMatchObject({ credits_expected: '8', affordable: true });

    const alice_reservation = await tally.reserve({ account: 'alice', operation: 'web.extract' });
    const bob_reservation = await tally.reserve({ account: 'bob', operation: 'web.extract' });
    const bob_charge = await tally.charge({ account: 'bob', operation: 'web.extract', usage: {} });
    const before = await ledgerSnapshot(tally);
    const metering = [
      await call('POST', '/v1/reservations', {
        key: token,
        body: { account: 'alice', operation: 'web.extract' },
      }),
      // The operator's own reservation on the customer's account: the customer may not settle it for nothing.
      await call('POST', `/v1/reservations/${alice_reservation.id}/settle`, {
        key: token,
        body: { usage: {} },
      }),
      await call('POST', `/v1/reservations/${alice_reservation.id}/release`, { key: token }),
      await call('POST', '/v1/charges', {
        key: token,
        body: { account: 'alice', operation: 'web.extract', usage: {} },
      }),
      await call('POST', '/v1/accounts/alice/grants', {
        key: token,
        body: { kind: 'bonus', amount: '1000' },
      }),
    ];
    expect(metering.map((attempt) => [attempt.status, attempt.json.code])).toEqual(
      Array(5).fill([403, 'forbidden']),
    );
    // Another account's ids answer exactly as ids that do not exist.
    const foreign = [
      await call('GET', '/v1/accounts/bob/balance', { key: token }),
      await call('GET', `/v1/reservations/${bob_reservation.id}`, { key: token }),
      await call('GET', `/v1/charges/${bob_charge.id}`, { key: token }),
    ];
    const missing = [
      await call('GET', '/v1/accounts/nobody/balance', { key: token }),
      await call('GET', '/v1/reservations/rsv_nothing', { key: token }),
      await call('GET', '/v1/charges/ch_nothing', { key: token }),
    ];
    const answer = (attempt: { status: number; json: { code: string } }) => [
      attempt.status,
      attempt.json.code,
    ];
    expect(foreign.map(answer)).toEqual([
      [404, 'account_not_found'],
      [404, 'reservation_not_found'],
      [404, 'charge_not_found'],
    ]);
    expect(missing.map(answer)).toEqual(foreign.map(answer));
    expect(await ledgerSnapshot(tally)).toEqual(before);

    // The operator's real settle still works: the reservation was untouched.
    const settled = await call('POST', `/v1/reservations/${alice_reservation.id}/settle`, {
      key: write_key,
      body: { usage: {} },
    });
    expect(settled.json).toMatchObject({ credits: '8' });

    clock.advanceSeconds(601);
    expect((await call('GET', '/v1/accounts/alice/balance', { key: token })).status).toBe(401);
    const forged = `${token.slice(0, -2)}xx`;
    expect((await call('GET', '/v1/accounts/alice/balance', { key: forged })).status).toBe(401);
  });

  it('walks every route with a customer token: only the routes marked for customers answer, and never for another account', async () => {
    const token = (await call('POST', '/v1/accounts/alice/tokens', { key: write_key, body: {} })).json.token;
    const before = await ledgerSnapshot(tally);
    const customer_routes: string[] = [];
    for (const route of [...routes, ...testClockRoutes]) {
      if (route.access === 'public') continue;
      const path = `${route.path.replace('{id}', 'bob').replace(/\{\w+\}/g, 'x')}${route.method === 'get' ? '?account=bob' : ''}`;
      const body = route.method === 'get' || route.method === 'delete' ? undefined : { account: 'bob' };
      const answer = await call(route.method.toUpperCase(), path, { key: token, body });
      if (!route.customer) {
        expect([route.path, answer.status, answer.json.code]).toEqual([route.path, 403, 'forbidden']);
        continue;
      }
      customer_routes.push(`${route.method} ${route.path}`);
      // Reaching bob is refused; as not found (like a missing id), or as a bad request before that.
      expect([route.path, answer.status]).toEqual([route.path, expect.toBeOneOf([400, 404])]);
    }
    expect(customer_routes.sort()).toEqual(
      [
        'get /v1/accounts/{id}',
        'get /v1/accounts/{id}/balance',
        'get /v1/accounts/{id}/grants',
        'get /v1/accounts/{id}/limits',
        'get /v1/accounts/{id}/members',
        'get /v1/accounts/{id}/teams',
        'get /v1/accounts/{id}/proxy-keys',
        'get /v1/accounts/{id}/remaining',
        'get /v1/accounts/{id}/reservations',
        'get /v1/accounts/{id}/subscription',
        'get /v1/accounts/{id}/usage',
        'get /v1/accounts/{id}/purchases',
        'get /v1/accounts/{id}/auto-recharge',
        'put /v1/accounts/{id}/auto-recharge',
        'get /v1/purchases/{id}',
        'post /v1/purchases',
        'get /v1/charges',
        'get /v1/charges/{id}',
        'get /v1/creators/{id}/earnings',
        'get /v1/creators/{id}/payouts',
        'get /v1/events',
        'get /v1/reservations/{id}',
        'post /v1/estimates',
        'put /v1/accounts/{id}/limits/{limit_id}',
        'put /v1/accounts/{id}/settings',
      ].sort(),
    );
    expect(await ledgerSnapshot(tally)).toEqual(before);
  });

  it('serves the event feed, each customer seeing its own account only', async () => {
    await call('PUT', '/v1/accounts/alice', {
      key: write_key,
      body: { kind: 'user', low_balance_threshold: '150' },
    });
    await call('PUT', '/v1/accounts/bob', {
      key: write_key,
      body: { kind: 'user', low_balance_threshold: '150' },
    });
    await call('POST', '/v1/charges', {
      key: write_key,
      body: { account: 'alice', operation: 'web.extract', usage: {} },
    });
    await call('POST', '/v1/charges', {
      key: write_key,
      body: { account: 'bob', operation: 'web.extract', usage: {} },
    });
    const all = await call('GET', '/v1/events?type=balance.low', { key: read_key });
    expect(all.json.data.map((event: { account: string }) => event.account)).toEqual(['alice', 'bob']);
    const token = (await call('POST', '/v1/accounts/alice/tokens', { key: write_key })).json.token;
    const own = await call('GET', '/v1/events', { key: token });
    expect(own.json.data.map((event: { account: string }) => event.account)).toEqual(['alice']);
    expect((await call('GET', '/v1/events?account=bob', { key: token })).json.code).toBe('account_not_found');
    const endpoint = await call('POST', '/v1/webhook-endpoints', {
      key: ADMIN,
      body: { url: 'http://127.0.0.1:9/hooks', events: ['balance.low'] },
    });
    expect(endpoint.json.secret).toMatch(/^whsec_/);
    expect((await call('GET', '/v1/webhook-endpoints', { key: ADMIN })).json.data).toHaveLength(1);
    expect(
      (
        await call('POST', '/v1/webhook-endpoints', {
          key: write_key,
          body: { url: 'http://x', events: ['*'] },
        })
      ).status,
    ).toBe(403);
  });

  it('moves the test clock forward only, and runs what fell due', async () => {
    await call('POST', '/v1/reservations', {
      key: write_key,
      body: { account: 'alice', operation: 'chat.fast', max_credits: '10', ttl_seconds: 60 },
    });
    const moved = await call('POST', '/v1/test/clock', { key: ADMIN, body: { advance_seconds: 120 } });
    expect(moved.json).toMatchObject({
      now: '2026-03-01T10:02:00.000Z',
      due_work: { reservations_expired: 1 },
    });
    expect((await call('GET', '/v1/test/clock', { key: read_key })).json.now).toBe(
      '2026-03-01T10:02:00.000Z',
    );
    const back = await call('POST', '/v1/test/clock', { key: ADMIN, body: { now: '2026-01-01T00:00:00Z' } });
    expect([back.status, back.json.code]).toEqual([400, 'test_clock_backwards']);
    // A jump past every valid date is refused before the clock moves, and the server keeps working.
    for (const body of [
      { advance_seconds: 8.64e12 },
      { now: '+275760-09-13T00:00:00Z' },
      { now: '3000-01-01T00:00:00Z' },
    ]) {
      const far = await call('POST', '/v1/test/clock', { key: ADMIN, body });
      expect([far.status, far.json.code]).toEqual([
        400,
        expect.stringMatching(/invalid_request|test_clock_out_of_range/),
      ]);
    }
    expect((await call('GET', '/v1/test/clock', { key: read_key })).json.now).toBe(
      '2026-03-01T10:02:00.000Z',
    );
    expect((await call('GET', '/v1/accounts/alice/balance', { key: read_key })).status).toBe(200);
    const without = createApp({ tally });
    const disabled = await without.request('/v1/test/clock', {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect([disabled.status, ((await disabled.json()) as { code: string }).code]).toEqual([
      404,
      'test_clock_disabled',
    ]);
  });

  it('moves the test clock once per idempotency key, and audits the move', async () => {
    const advance = () =>
      call('POST', '/v1/test/clock', {
        key: ADMIN,
        body: { advance_seconds: 3600 },
        headers: { 'idempotency-key': 'one-hour' },
      });
    const first = await advance();
    const again = await advance();
    expect([first.json.now, again.json.now, again.headers.get('idempotent-replayed')]).toEqual([
      '2026-03-01T11:00:00.000Z',
      '2026-03-01T11:00:00.000Z',
      'true',
    ]);
    expect((await call('GET', '/v1/test/clock', { key: read_key })).json.now).toBe(
      '2026-03-01T11:00:00.000Z',
    );
    const audit = (await call('GET', '/v1/audit', { key: ADMIN })).json.data;
    expect(audit.filter((entry: { action: string }) => entry.action === 'move_test_clock')).toHaveLength(1);
  });

  it('answers a known path asked with another method as 405 with Allow, and refuses unknown or malformed query parameters', async () => {
    const wrong = await call('DELETE', '/v1/accounts/alice/balance', { key: ADMIN });
    expect([wrong.status, wrong.json.code, wrong.headers.get('allow')]).toEqual([
      405,
      'method_not_allowed',
      'GET',
    ]);
    expect((await call('POST', '/v1/accounts/alice', { key: ADMIN, body: {} })).headers.get('allow')).toBe(
      'PUT, GET',
    );
    for (const path of [
      '/v1/accounts?limit=abc',
      '/v1/accounts?limit=2.5',
      '/v1/audit?limit=2.5',
      `/v1/accounts?prefix=${'a'.repeat(200)}`,
      '/v1/accounts?colour=blue',
      '/v1/accounts/alice/balance?verbose=1',
      '/v1/charges?account=alice&limit=0',
    ]) {
      const answer = await call('GET', path, { key: ADMIN });
      expect([path, answer.status, answer.headers.get('content-type'), answer.json.code]).toEqual([
        path,
        400,
        'application/problem+json',
        'invalid_request',
      ]);
    }
    expect((await call('GET', '/v1/accounts?limit=2', { key: ADMIN })).json.data).toHaveLength(2);
  });

  it('revokes customer tokens by account and with the key that minted them, and audits each minting', async () => {
    const mint = async (key: string) =>
      (await call('POST', '/v1/accounts/alice/tokens', { key, body: { ttl_seconds: 3600 } })).json
        .token as string;
    const first = await mint(write_key);
    const other_key = (
      await call('POST', '/v1/keys', { key: ADMIN, body: { scope: 'write', name: 'portal' } })
    ).json;
    const by_other_key = await mint(other_key.secret);
    expect((await call('GET', '/v1/accounts/alice', { key: first })).status).toBe(200);

    const revoked = await call('POST', '/v1/accounts/alice/tokens/revoke', { key: write_key });
    expect(revoked.json).toEqual({ account: 'alice', revoked_before: '2026-03-01T10:00:00.000Z' });
    expect((await call('GET', '/v1/accounts/alice', { key: first })).status).toBe(401);
    expect((await call('GET', '/v1/accounts/alice', { key: by_other_key })).status).toBe(401);
    clock.advanceSeconds(1);
    const after = await mint(other_key.secret);
    expect((await call('GET', '/v1/accounts/alice', { key: after })).status).toBe(200);

    // A token does not outlive the key that minted it.
    await call('POST', `/v1/keys/${other_key.id}/revoke`, { key: ADMIN });
    expect((await call('GET', '/v1/accounts/alice', { key: after })).status).toBe(401);
    const fresh = await mint(write_key);
    expect((await call('GET', '/v1/accounts/alice', { key: fresh })).status).toBe(200);

    const audit = (await call('GET', '/v1/audit?account=alice', { key: ADMIN })).json.data as {
      action: string;
    }[];
    expect(audit.filter((entry) => entry.action === 'mint_customer_token')).toHaveLength(4);
    expect(audit.map((entry) => entry.action)).toContain('revoke_customer_tokens');
    expect(JSON.stringify(audit)).not.toContain(first);
  });

  it('makes API keys, customer tokens and webhook endpoints once per idempotency key, and never stores a secret to replay it', async () => {
    const headers = { 'idempotency-key': 'make-once' };
    const first = await call('POST', '/v1/keys', {
      key: ADMIN,
      body: { scope: 'read', name: 'ci' },
      headers,
    });
    const again = await call('POST', '/v1/keys', {
      key: ADMIN,
      body: { scope: 'read', name: 'ci' },
      headers,
    });
    expect(first.json.secret).toMatch(/^sk_read_/);
    expect([again.headers.get('idempotent-replayed'), again.json.id, again.json.secret]).toEqual([
      'true',
      first.json.id,
      null,
    ]);
    const keys = (await call('GET', '/v1/keys', { key: ADMIN })).json.data as { name: string }[];
    expect(keys.filter((key) => key.name === 'ci')).toHaveLength(1);

    const endpoint = { url: 'http://127.0.0.1:9/hooks', events: ['*'] };
    const made = await call('POST', '/v1/webhook-endpoints', { key: ADMIN, body: endpoint, headers });
    const remade = await call('POST', '/v1/webhook-endpoints', { key: ADMIN, body: endpoint, headers });
    expect(remade.json).toEqual(made.json);
    expect((await call('GET', '/v1/webhook-endpoints', { key: ADMIN })).json.data).toHaveLength(1);

    const token = await call('POST', '/v1/accounts/alice/tokens', { key: write_key, body: {}, headers });
    const retoken = await call('POST', '/v1/accounts/alice/tokens', { key: write_key, body: {}, headers });
    expect(token.json.token).toMatch(/^ct_/);
    expect(retoken.json).toEqual({ ...token.json, token: null });
    const audited = (await call('GET', '/v1/audit', { key: ADMIN })).json.data as { action: string }[];
    expect(audited.filter((entry) => entry.action === 'create_api_key')).toHaveLength(3); // beforeEach's two, and this one
  });

  it('parses customer tokens strictly, and revoking a revoked key changes nothing', async () => {
    const token = (await call('POST', '/v1/accounts/alice/tokens', { key: write_key })).json.token as string;
    expect((await call('GET', '/v1/accounts/alice', { key: token })).status).toBe(200);
    for (const mangled of [
      `${token}.junk`,
      `${token}x`,
      `ct_.${token.split('.')[1]}`,
      token.replace('.', '..'),
    ])
      expect((await call('GET', '/v1/accounts/alice', { key: mangled })).status).toBe(401);

    const key = (await call('POST', '/v1/keys', { key: ADMIN, body: { scope: 'read', name: 'once' } })).json;
    const first = await call('POST', `/v1/keys/${key.id}/revoke`, { key: ADMIN });
    const audited = (await call('GET', '/v1/audit', { key: ADMIN })).json.data.length;
    const second = await call('POST', `/v1/keys/${key.id}/revoke`, { key: ADMIN });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.json, second.json]).toEqual([
      { id: key.id, revoked: true, already_revoked: false },
      { id: key.id, revoked: true, already_revoked: true },
    ]);
    expect((await call('GET', '/v1/audit', { key: ADMIN })).json.data).toHaveLength(audited);
    expect((await call('POST', '/v1/keys/key_missing/revoke', { key: ADMIN })).json.code).toBe(
      'api_key_not_found',
    );
  });

  it('tells browsers to run only its own scripts, never frame it and never sniff types', async () => {
    for (const path of ['/', '/prices', '/docs', '/v1/prices', '/v1/nothing']) {
      const { headers } = await call('GET', path);
      expect([path, headers.get('x-frame-options'), headers.get('x-content-type-options')]).toEqual([
        path,
        'DENY',
        'nosniff',
      ]);
      expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(headers.get('content-security-policy')).toContain("script-src 'self'");
    }
  });

  it('publishes an OpenAPI 3.1 document listing every route, and a reference page', async () => {
    const document = (await call('GET', '/openapi.json')).json;
    expect(document.openapi).toBe('3.1.0');
    const validator = new Validator();
    const validation = await validator.validate(document);
    expect(validation.errors).toBeUndefined();
    expect([validation.valid, validator.version]).toEqual([true, '3.1']);
    // Every route the server answers is in the document.
    expect(listedCount(document)).toBe(routes.length + testClockRoutes.length + 2);
    const listed = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'GET /v1/prices',
      'POST /v1/reservations',
      'POST /v1/reservations/{id}/settle',
      'GET /openapi.json',
      'GET /docs',
      'POST /v1/test/clock',
    ]) {
      expect(listed).toContain(route);
    }
    const page = await call('GET', '/docs?view=plain');
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.json).toContain('/v1/reservations/{id}/settle');
    // The interactive page (when the dashboard is built) starts Scalar from Tally's own script.
    const interactive = await call('GET', '/docs');
    expect(interactive.json).toMatch(
      /<script src="\/docs\/api-reference\.js">|\/v1\/reservations\/\{id\}\/settle/,
    );
    expect((await call('GET', '/docs?view=other')).status).toBe(400);
  });
});

describe('answers and their schemas', () => {
  it('answers exactly what each route declares: real answers parse with the strict answer schemas', async () => {
    const answered = async (method: string, path: string, key: string, body?: unknown) => {
      const route = [...routes, ...testClockRoutes].find(
        (candidate) =>
          candidate.method === method.toLowerCase() &&
          new RegExp(`^${candidate.path.replace(/\{\w+\}/g, '[^/?]+')}(\\?.*)?$`).test(path),
      )!;
      expect(route.answer, `${method} ${path} declares its answer`).toBeDefined();
      const { json, status } = await call(method, path, { key, body });
      expect(status, `${method} ${path}: ${JSON.stringify(json)}`).toBe(200);
      const parsed = route.answer!.safeParse(json);
      expect(parsed.error?.issues ?? [], `${method} ${path}`).toEqual([]);
      return json;
    };
    const grant = await answered('POST', '/v1/accounts/alice/grants', write_key, {
      kind: 'promo',
      amount: '5',
    });
    await answered('GET', '/v1/accounts/alice/grants', read_key);
    const reservation = await answered('POST', '/v1/reservations', write_key, {
      account: 'alice',
      operation: 'chat.fast',
      max_credits: '3',
      metadata: { thread: 't1', tags: ['a'] },
    });
    await answered('GET', `/v1/reservations/${reservation.id}`, read_key);
    const charge = await answered('POST', `/v1/reservations/${reservation.id}/settle`, write_key, {
      usage: { input_tokens: 10 },
    });
    await answered('GET', `/v1/charges/${charge.id}`, read_key);
    await answered('POST', '/v1/charges', write_key, {
      account: 'alice',
      operation: 'web.extract',
      usage: {},
    });
    const held = await answered('POST', '/v1/reservations', write_key, {
      account: 'alice',
      operation: 'web.extract',
    });
    await answered('POST', `/v1/reservations/${held.id}/release`, write_key, {});
    await answered('GET', '/v1/accounts/alice/reservations', read_key);
    await answered('GET', '/v1/accounts?prefix=a', read_key);
    await answered('POST', `/v1/grants/${grant.id}/revoke`, write_key, { reason: 'test' });
    await answered('PUT', '/v1/accounts/alice/limits/daily', write_key, { window: 'day', max: '50' });
    await answered('GET', '/v1/accounts/alice/limits', read_key);
    await answered('GET', '/v1/accounts/alice/balance', read_key);
    await answered('GET', '/v1/events', read_key);
    await answered('POST', '/v1/keys', ADMIN, { scope: 'read', name: 'schema' });
    await answered('GET', '/v1/keys', ADMIN);
    await answered('POST', '/v1/webhook-endpoints', ADMIN, {
      url: 'http://127.0.0.1:9/hooks',
      events: ['*'],
    });
    await answered('GET', '/v1/webhook-endpoints', ADMIN);
    await answered('GET', '/v1/audit', ADMIN);
    await answered('GET', '/v1/accounts/alice', read_key);
    await answered('PUT', '/v1/accounts/carol', write_key, { kind: 'user' });
    await answered('PUT', '/v1/accounts/alice/settings', write_key, { low_balance_threshold: '5' });
    await answered('GET', '/v1/accounts/alice/remaining', read_key);
    await answered('GET', '/v1/accounts/alice/usage?group_by=operation', read_key);
    await answered('GET', '/v1/charges?account=alice', read_key);
    await answered('POST', '/v1/estimates', read_key, {
      account: 'alice',
      operation: 'chat.fast',
      input_text: 'hello there',
    });
    await answered('POST', '/v1/estimates', read_key, {
      account: 'alice',
      operation: 'image.standard',
      usage: { images: 100 },
    });
    await answered('POST', `/v1/charges/${charge.id}/refund`, write_key, {
      amount: '0.001',
      reason: 'schema',
    });
    await answered('POST', '/v1/accounts/alice/tokens', write_key, {});
    await answered('POST', '/v1/accounts/alice/tokens/revoke', write_key);
    const made = await answered('POST', '/v1/keys', ADMIN, { scope: 'read', name: 'to revoke' });
    await answered('POST', `/v1/keys/${made.id}/revoke`, ADMIN);
    await answered('GET', '/v1/prices', read_key);
    await answered('GET', '/v1/price-book/versions', read_key);
    await answered('GET', '/v1/price-book/versions/1', read_key);
    await answered('GET', '/v1/plans', read_key);
    await answered('GET', '/v1/accounts/alice/subscription', read_key);
    await answered('GET', '/v1/test/clock', read_key);
    await answered('GET', '/healthz', read_key);
    const [endpoint] = (await call('GET', '/v1/webhook-endpoints', { key: ADMIN })).json.data;
    // An event after the endpoint exists, fanned out by the clock's pass.
    await call('PUT', '/v1/accounts/alice/settings', {
      key: write_key,
      body: { low_balance_threshold: '500' },
    });
    await call('POST', '/v1/charges', {
      key: write_key,
      body: { account: 'alice', operation: 'web.extract' },
    });
    const fanned = await call('POST', '/v1/test/clock', { key: ADMIN, body: { advance_seconds: 1 } });
    expect(fanned.json.webhooks.fanned_out).toBeGreaterThan(0);
    const deliveries = await answered('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`, ADMIN);
    await answered('POST', `/v1/webhook-deliveries/${deliveries.data[0].id}/replay`, ADMIN);
    const proxy_key = await answered('POST', '/v1/accounts/alice/proxy-keys', write_key, { name: 'schema' });
    await answered('GET', '/v1/accounts/alice/proxy-keys', read_key);
    await answered('POST', `/v1/proxy-keys/${proxy_key.id}/revoke`, write_key);
    await answered('POST', '/v1/test/clock', ADMIN, { advance_seconds: 60 });
    await answered('POST', '/v1/price-book/versions', ADMIN, {
      effective_at: '2026-04-01T00:00:00Z',
      operations: { 'web.extract': { flat_credits: '9' } },
    });
    // Every route declares its answer, so the OpenAPI document and the SDK types cover them all.
    expect(
      [...routes, ...testClockRoutes].filter((route) => !route.answer).map((route) => route.path),
    ).toEqual([]);
    // The document carries them: the OpenAPI answer of a charge lists its fields.
    const document = (await call('GET', '/openapi.json')).json;
    const settle =
      document.paths['/v1/reservations/{id}/settle'].post.responses['200'].content['application/json'];
    expect(Object.keys(settle.schema.properties)).toContain('uncollected');
  });

  it('answers subscriptions as declared, on a configuration with plans', async () => {
    const planned = await openTestTally({ config: 'examples/prompt-marketplace.yaml' });
    const served = createApp({ tally: planned.tally, test_clock: planned.clock });
    await planned.tally.access.createKey({ scope: 'admin', name: 'test', secret: ADMIN });
    const answered = async (method: string, path: string, body?: unknown) => {
      const route = routes.find(
        (candidate) =>
          candidate.method === method.toLowerCase() &&
          new RegExp(`^${candidate.path.replace(/\{\w+\}/g, '[^/?]+')}$`).test(path),
      )!;
      const response = await served.request(path, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await response.json()) as { data?: { id: string }[] };
      expect(response.status, JSON.stringify(json)).toBe(200);
      expect(route.answer!.safeParse(json).error?.issues ?? [], `${method} ${path}`).toEqual([]);
      return json;
    };
    await answered('PUT', '/v1/accounts/dana', { kind: 'user', plan: 'pro' });
    const plans = await answered('GET', '/v1/plans');
    expect(plans.data?.map((plan) => plan.id)).toContain('pro');
    await answered('GET', '/v1/accounts/dana/subscription');
    await answered('PUT', '/v1/accounts/dana/subscription', { plan: 'pro' });
    await answered('GET', '/v1/accounts/dana');
    await answered('DELETE', '/v1/accounts/dana/subscription');
    await planned.tally.close();
  });
});
