/** Teams over HTTP: members managed with write keys, and a member's customer token on the team's pool. */
import { beforeEach, describe, expect, it } from 'vitest';
import { ledgerSnapshot, openTestTally } from '../../../test/helpers.ts';
import type { Tally } from '../../service/tally.ts';
import { createApp } from '../app.ts';

const ADMIN = 'sk_admin_teams_0123456789abc';
let tally: Tally;
let app: ReturnType<typeof createApp>;
let write_key: string;

async function call(method: string, path: string, key: string, body?: unknown) {
  const response = await app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Parsed loosely: each test reads the fields it checks.
  return { status: response.status, json: JSON.parse(await response.text()) };
}

const question = { operation: 'chat.fast', usage: { input_tokens: 10_000 } }; // 10 credits

beforeEach(async () => {
  ({ tally } = await openTestTally());
  app = createApp({ tally });
  await tally.access.createKey({ scope: 'admin', name: 'test', secret: ADMIN });
  write_key = (await call('POST', '/v1/keys', ADMIN, { scope: 'write', name: 'backend' })).json.secret;
  for (const [id, kind] of [
    ['acme', 'team'],
    ['globex', 'team'],
    ['ana', 'user'],
    ['ben', 'user'],
    ['zed', 'user'],
  ] as const) {
    await call('PUT', `/v1/accounts/${id}`, write_key, { kind });
  }
  await call('POST', '/v1/accounts/acme/grants', write_key, { kind: 'bonus', amount: '100' });
  await call('POST', '/v1/accounts/globex/grants', write_key, { kind: 'bonus', amount: '100' });
  expect((await call('PUT', '/v1/accounts/acme/members/ana', write_key, { role: 'owner' })).status).toBe(200);
  const ben = await call('PUT', '/v1/accounts/acme/members/ben', write_key, {
    role: 'member',
    limits: { day: '20' },
  });
  expect(ben.json).toMatchObject({ team: 'acme', member: 'ben', role: 'member', limits: { day: '20' } });
  await call('PUT', '/v1/accounts/globex/members/zed', write_key, { role: 'owner' });
  for (const member of ['ana', 'ben']) {
    await call('POST', '/v1/charges', write_key, { account: 'acme', member, ...question });
  }
});

describe('teams over HTTP', () => {
  it("gives a member's token the team's balance and their own runs, and nothing of another team", async () => {
    const minted = await call('POST', '/v1/accounts/acme/tokens', write_key, { member: 'ben' });
    expect(minted.json).toMatchObject({ account: 'acme', member: 'ben' });
    const token = minted.json.token;
    expect((await call('GET', '/v1/accounts/acme/balance', token)).json.available).toBe('80');
    const usage = await call('GET', '/v1/accounts/acme/usage?group_by=member', token);
    expect(usage.json.groups.map((group: { key: string }) => group.key)).toEqual(['ben']);
    // Asking for another member's runs still answers only their own.
    const charges = await call('GET', '/v1/charges?account=acme&member=ana', token);
    expect(charges.json.data.map((charge: { member: string }) => charge.member)).toEqual(['ben']);
    const anas = (await call('GET', '/v1/charges?account=acme&member=ana', write_key)).json.data[0].id;
    expect((await call('GET', `/v1/charges/${anas}`, token)).status).toBe(404);
    // The estimate is the member's: 10 used of their 20 a day, so a run of 20 does not fit.
    const estimate = await call('POST', '/v1/estimates', token, {
      account: 'acme',
      operation: 'chat.fast',
      usage: { input_tokens: 20_000 },
    });
    expect(estimate.json).toMatchObject({ affordable: false });
    expect((await call('GET', '/v1/accounts/acme/members', token)).json.data).toHaveLength(2);
    const other = await call('GET', '/v1/accounts/globex/balance', token);
    expect([other.status, other.json.code]).toEqual([404, 'account_not_found']);
    expect((await call('GET', '/v1/accounts/globex/members', token)).status).toBe(404);
    expect(
      (await call('GET', '/v1/accounts/ben/teams', write_key)).json.data.map(
        (row: { team: string }) => row.team,
      ),
    ).toEqual(['acme']);
  });

  it('refuses what would break a team, and changes nothing', async () => {
    const before = await ledgerSnapshot(tally);
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/v1/charges', { account: 'acme', member: 'zed', ...question }, 422, 'member_not_in_team'],
      ['POST', '/v1/accounts/acme/tokens', { member: 'zed' }, 422, 'member_not_in_team'],
      ['POST', '/v1/accounts/ana/tokens', { member: 'ben' }, 422, 'account_not_team'],
      ['PUT', '/v1/accounts/acme/members/globex', { role: 'member' }, 422, 'member_is_team'],
      ['PUT', '/v1/accounts/acme/members/nobody', { role: 'member' }, 404, 'account_not_found'],
      ['PUT', '/v1/accounts/ana/members/ben', { role: 'member' }, 422, 'account_not_team'],
      ['PUT', '/v1/accounts/acme/members/ben', { role: 'boss' }, 400, 'invalid_request'],
      ['PUT', '/v1/accounts/acme/members/ana', { role: 'admin' }, 409, 'team_needs_owner'],
      ['DELETE', '/v1/accounts/acme/members/ana', undefined, 409, 'team_needs_owner'],
      ['DELETE', '/v1/accounts/acme/members/zed', undefined, 404, 'member_not_found'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const answer = await call(method, path, write_key, body);
      expect([path, answer.status, answer.json.code]).toEqual([path, status, code]);
    }
    expect(await ledgerSnapshot(tally)).toEqual(before);
    expect(
      (await call('GET', '/v1/accounts/acme/members', write_key)).json.data.map(
        (row: { member: string }) => row.member,
      ),
    ).toEqual(['ana', 'ben']);
  });
});
