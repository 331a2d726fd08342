/** Creators over HTTP: statements (JSON and CSV), payouts for admin keys only, customer tokens on their own. */
import { beforeEach, describe, expect, it } from 'vitest';
import { ledgerSnapshot, openTestTally, TEST_CONFIG } from '../../../test/helpers.ts';
import type { TestClock } from '../../service/clock.ts';
import type { Tally } from '../../service/tally.ts';
import { createApp } from '../app.ts';

const ADMIN = 'sk_admin_creators_0123456789';
let tally: Tally;
let clock: TestClock;
let app: ReturnType<typeof createApp>;
let write_key: string;

async function call(
  method: string,
  path: string,
  key: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    json: /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : text,
  };
}

beforeEach(async () => {
  ({ tally, clock } = await openTestTally({
    config: {
      ...TEST_CONFIG,
      kinds: ['bonus', 'earnings'],
      creators: { payout_hold_days: 7, earnings_kind: 'earnings' },
      price_book: {
        ...TEST_CONFIG.price_book!,
        operations: {
          'prompt.run': { rates: { output_tokens: '0.001' }, creator_share: { basis: 'cost', rate: '0.2' } },
        },
      },
    },
  }));
  app = createApp({ tally, test_clock: clock });
  await tally.access.createKey({ scope: 'admin', name: 'test', secret: ADMIN });
  write_key = (await call('POST', '/v1/keys', ADMIN, { scope: 'write', name: 'backend' })).json.secret;
  for (const id of ['author', 'runner', 'other']) await tally.putAccount({ id, kind: 'user' });
  await tally.issueGrant({ account: 'runner', kind: 'bonus', amount: '100' });
  for (const [prompt, tokens] of [
    ['haiku', 10_000],
    ['haiku', 5_000],
    ['=cmd', 20_000],
  ] as const) {
    await call('POST', '/v1/charges', write_key, {
      account: 'runner',
      operation: 'prompt.run',
      usage: { output_tokens: tokens },
      creator: 'author',
      metadata: { prompt },
    });
  }
});

describe('creators over HTTP', () => {
  it('answers a statement by prompt, as JSON and as CSV, formulas defused', async () => {
    const statement = await call('GET', '/v1/creators/author/earnings?group_by=prompt', write_key);
    expect(statement.json).toMatchObject({
      groups: [
        { key: '=cmd', runs: 1, gross: '20', share: '4', net: '4' },
        { key: 'haiku', runs: 2, gross: '15', share: '3', net: '3' },
      ],
      net: '7',
      payable: '0',
      in_hold: '7',
      hold_days: 7,
    });
    const csv = await call('GET', '/v1/creators/author/earnings?group_by=prompt&format=csv', write_key);
    expect(csv.type).toMatch(/text\/csv/);
    expect(String(csv.json).split('\r\n')).toEqual([
      'prompt,runs,gross,share,reversed,net,money,currency',
      "'=cmd,1,20,4,0,4,0.04,USD",
      'haiku,2,15,3,0,3,0.03,USD',
      'total,3,35,7,0,7,0.07,USD',
      'payable,,,,,0,0,USD',
      '',
    ]);
  });

  it('pays out with an admin key only, once per idempotency key, never past the hold, and as credits when configured', async () => {
    const before = await ledgerSnapshot(tally);
    const too_early = await call(
      'POST',
      '/v1/creators/author/payouts',
      ADMIN,
      { amount: '1' },
      { 'idempotency-key': 'p0' },
    );
    expect([too_early.status, too_early.json.code, too_early.json.in_hold]).toEqual([
      409,
      'payout_exceeds_payable',
      '7',
    ]);
    const by_writer = await call('POST', '/v1/creators/author/payouts', write_key, { amount: '1' });
    expect([by_writer.status, by_writer.json.code]).toEqual([403, 'forbidden']);
    expect(await ledgerSnapshot(tally)).toEqual(before);

    clock.advanceSeconds(7 * 86_400 + 1);
    const first = await call(
      'POST',
      '/v1/creators/author/payouts',
      ADMIN,
      { amount: '5', reference: 'wire' },
      { 'idempotency-key': 'p1' },
    );
    expect(first.json).toMatchObject({
      amount: '5',
      as: 'money',
      reference: 'wire',
      money: { amount_minor: 5 },
    });
    const again = await call(
      'POST',
      '/v1/creators/author/payouts',
      ADMIN,
      { amount: '5', reference: 'wire' },
      { 'idempotency-key': 'p1' },
    );
    expect(again.json.id).toBe(first.json.id);
    const as_credits = await call(
      'POST',
      '/v1/creators/author/payouts',
      ADMIN,
      { amount: '2', as: 'credits' },
      { 'idempotency-key': 'p2' },
    );
    expect(as_credits.json).toMatchObject({
      amount: '2',
      as: 'credits',
      grant_id: expect.stringMatching(/^gr_/),
    });
    expect((await tally.getBalance('author')).by_kind.earnings?.available).toBe('2');
    const over = await call(
      'POST',
      '/v1/creators/author/payouts',
      ADMIN,
      { amount: '0.000001' },
      { 'idempotency-key': 'p3' },
    );
    expect(over.json.code).toBe('payout_exceeds_payable');

    const payouts = await call('GET', '/v1/creators/author/payouts', write_key);
    expect(payouts.json.data.map((payout: { amount: string }) => payout.amount)).toEqual(['2', '5']);
    const creators = await call('GET', '/v1/creators', write_key);
    expect(creators.json.data).toEqual([{ creator: 'author', net: '7', payable: '0', paid: '7' }]);
    expect(await tally.verify()).toMatchObject({ ok: true });
  });

  it("lets a creator's customer token read their own statement and payouts, and no one else's", async () => {
    const token = (await call('POST', '/v1/accounts/author/tokens', write_key, {})).json.token;
    expect((await call('GET', '/v1/creators/author/earnings', token)).json.net).toBe('7');
    expect((await call('GET', '/v1/creators/author/payouts', token)).json.data).toEqual([]);
    const other = (await call('POST', '/v1/accounts/other/tokens', write_key, {})).json.token;
    const refused = await call('GET', '/v1/creators/author/earnings', other);
    expect([refused.status, refused.json.code]).toEqual([404, 'account_not_found']);
    const pay = await call('POST', '/v1/creators/author/payouts', token, { amount: '1' });
    expect(pay.status).toBe(403);
  });
});
