/** The endpoints the other HTTP tests do not walk through, each once, with what it must answer. */
import { beforeEach, expect, it } from 'vitest';
import { openTestTally } from '../../test/helpers.ts';
import { TallyClient } from '../sdk/client.ts';
import type { Tally } from '../service/tally.ts';
import { createApp } from './app.ts';

const ADMIN = 'sk_admin_endpoints_0123456789';
let tally: Tally;
let client: TallyClient;

beforeEach(async () => {
  const opened = await openTestTally();
  tally = opened.tally;
  await tally.access.createKey({ scope: 'admin', name: 'test', secret: ADMIN });
  const app = createApp({ tally, test_clock: opened.clock });
  // The SDK over the in-process app: the same requests, no socket.
  client = new TallyClient({
    url: 'http://tally.test',
    credential: ADMIN,
    fetch: async (input, init) => app.request(String(input), init),
  });
  await client.putAccount('ana', { kind: 'user', low_balance_threshold: '5' });
});

it('grants, lists, revokes and refunds', async () => {
  const grant = await client.issueGrant('ana', {
    kind: 'promo',
    amount: '30',
    expires_at: '2026-04-01T00:00:00Z',
  });
  await client.issueGrant('ana', { kind: 'bonus', amount: '20' });
  expect((await client.grants('ana')).data.map((row) => row.kind)).toEqual(['promo', 'bonus']);
  expect((await client.revokeGrant(grant.id, { reason: 'campaign withdrawn' })).status).toBe('revoked');
  expect((await client.grants('ana', { status: 'revoked' })).data.map((row) => row.id)).toEqual([grant.id]);
  const charge = await client.charge({ account: 'ana', operation: 'web.extract', usage: {} });
  const refund = await client.refund(charge.id, { amount: '3', reason: 'support' });
  expect(refund.grant).toMatchObject({ kind: 'bonus', amount: '3', refund_of: charge.id });
  expect((await client.getCharge(charge.id)).refunded).toBe('3');
  expect((await client.account('ana')).low_balance_threshold).toBe('5');
});

it('answers remaining runs, estimates and reservations by id', async () => {
  await client.issueGrant('ana', { kind: 'bonus', amount: '100' });
  const remaining = await client.remaining('ana');
  expect(remaining.operations.find((operation) => operation.id === 'web.extract')).toMatchObject({
    runs_affordable: 12,
    typical_cost: '8',
  });
  const reservation = await client.reserve({ account: 'ana', operation: 'web.extract' });
  expect((await client.reservation(reservation.id)).status).toBe('held');
  expect((await client.release(reservation.id, { reason: 'cancelled' })).status).toBe('released');
});

it('publishes a price book version and serves it by number', async () => {
  const published = await client.publishPriceBook({ operations: { 'web.extract': { flat_credits: '9' } } });
  expect(published.version).toBe(2);
  expect((await client.priceVersion(2)).operations.map((operation) => operation.id)).toEqual(['web.extract']);
  expect((await client.priceVersion(1)).operations.map((operation) => operation.id)).toContain('chat.fast');
  await expect(client.priceVersion(9)).rejects.toMatchObject({
    code: 'price_version_not_found',
    status: 404,
  });
});

it('lists webhook deliveries and replays one', async () => {
  const endpoint = await client.createWebhookEndpoint({
    url: 'http://127.0.0.1:9/unreachable',
    events: ['*'],
  });
  await client.issueGrant('ana', { kind: 'bonus', amount: '10' });
  await client.charge({ account: 'ana', operation: 'web.extract', usage: {} }); // 2 left, below 5: balance.low
  await tally.webhooks.dispatch();
  const [delivery] = (await client.webhookDeliveries(endpoint.id)).data;
  expect(delivery).toMatchObject({
    status: 'pending',
    attempts: [expect.objectContaining({ status_code: null })],
  });
  expect((await client.replayDelivery(delivery!.id)).status).toBe('pending');
  expect((await client.events({ account: 'ana' })).data.map((event) => event.type)).toEqual(['balance.low']);
  expect((await client.keys()).data.map((key) => key.scope)).toEqual(['admin']);
  const made = await client.createKey({ scope: 'read', name: 'dashboard' });
  expect(made.secret).toMatch(/^sk_read_/);
  expect((await client.revokeKey(made.id)).revoked).toBe(true);
});

it('keeps a budget per API key: what runs made with that key spend', async () => {
  await client.issueGrant('ana', { kind: 'purchased', amount: '100' });
  const automation = await client.createKey({ scope: 'write', name: 'n8n workflow' });
  const backend = await client.createKey({ scope: 'write', name: 'backend' });
  await client.putLimit('ana', 'n8n_budget', { window: 'day', max: '16', api_key: automation.id });
  const n8n = client.as(automation.secret);
  await n8n.charge({ account: 'ana', operation: 'web.extract', usage: {} });
  await n8n.charge({ account: 'ana', operation: 'web.extract', usage: {} });
  await expect(n8n.charge({ account: 'ana', operation: 'web.extract', usage: {} })).rejects.toMatchObject({
    code: 'insufficient_credits',
    problem: { blocked_by: [expect.objectContaining({ kind: 'limit', limit_id: 'n8n_budget' })] },
  });
  expect((await n8n.estimate({ account: 'ana', operation: 'web.extract' })).affordable).toBe(false);
  // The same account through another key is not held by the automation's budget.
  await client.as(backend.secret).charge({ account: 'ana', operation: 'web.extract', usage: {} });
  expect((await client.limits('ana')).data.find((limit) => limit.id === 'n8n_budget')).toMatchObject({
    used: '16',
    remaining: '0',
  });
});

it('audits every operator action, with who did it; customers acting on their own account are not audited', async () => {
  const grant = await client.issueGrant('ana', { kind: 'bonus', amount: '5', reason: 'welcome' });
  // Metering is in the ledger with the key that made it, not in the audit log.
  const reservation = await client.reserve({ account: 'ana', operation: 'web.extract', max_credits: '1' });
  await client.release(reservation.id);
  await client.revokeGrant(grant.id, { reason: 'mistake' });
  const key = await client.createKey({ scope: 'read', name: 'reporting' });
  const { token } = await client.customerToken('ana');
  await client.as(token).setSettings('ana', { low_balance_threshold: '3' });
  const audit = (await client.audit()).data;
  expect(audit.map((entry) => entry.action)).toEqual([
    'mint_customer_token',
    'create_api_key',
    'revoke_grant',
    'issue_grant',
    'put_account',
  ]);
  const admin_key_id = (await client.keys()).data.find((candidate) => candidate.scope === 'admin')!.id;
  expect(new Set(audit.map((entry) => entry.actor))).toEqual(new Set([admin_key_id]));
  expect(audit[3]).toMatchObject({
    account: 'ana',
    details: { kind: 'bonus', amount: '5', reason: 'welcome' },
  });
  expect(audit[1]!.details).toMatchObject({ id: key.id, scope: 'read' });
  expect(JSON.stringify(audit[0])).not.toContain(token);
  expect((await client.audit({ account: 'ana' })).data.map((entry) => entry.action)).toEqual([
    'mint_customer_token',
    'revoke_grant',
    'issue_grant',
    'put_account',
  ]);
  expect((await client.account('ana')).low_balance_threshold).toBe('3');
});

it('finds accounts by prefix, lists reservations and price versions', async () => {
  await client.putAccount('ana-2', { kind: 'user' });
  await client.putAccount('bo', { kind: 'user' });
  expect((await client.accounts({ prefix: 'ana' })).data.map((account) => account.id)).toEqual([
    'ana',
    'ana-2',
  ]);
  await client.issueGrant('ana', { kind: 'bonus', amount: '50' });
  const first = await client.reserve({ account: 'ana', operation: 'web.extract' });
  const second = await client.reserve({ account: 'ana', operation: 'web.extract' });
  expect((await client.reservations('ana')).data.map((row) => row.id)).toEqual([second.id, first.id]);
  // Grants are paged in the store too, and filtered by their state now.
  await client.issueGrant('ana', { kind: 'promo', amount: '1' });
  const grants = await client.grants('ana', { limit: 1 });
  expect(grants.next_cursor).not.toBeNull();
  expect(grants.data).toHaveLength(1);
  const rest = await client.grants('ana', { cursor: grants.next_cursor!, limit: 200 });
  expect([...grants.data, ...rest.data].map((grant) => grant.id)).toEqual(
    (await tally.listGrants('ana')).map((grant) => grant.id),
  );
  expect(rest.next_cursor).toBeNull();
  expect((await client.grants('ana', { status: 'revoked' })).data).toEqual([]);
  const page = await client.reservations('ana', { limit: 1 });
  expect([page.data.map((row) => row.id), page.next_cursor]).toEqual([[second.id], expect.any(String)]);
  const next = await client.reservations('ana', { limit: 1, cursor: page.next_cursor! });
  expect([next.data.map((row) => row.id), next.next_cursor]).toEqual([[first.id], null]);
  expect((await client.priceVersions()).data.map((version) => version.version)).toEqual([1]);
});
