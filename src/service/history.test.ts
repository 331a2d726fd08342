import { beforeEach, describe, expect, it } from 'vitest';
import { openTestTally, refusal } from '../../test/helpers.ts';
import { createApp } from '../http/app.ts';
import type { TestClock } from './clock.ts';
import type { Tally } from './tally.ts';

let tally: Tally;
let clock: TestClock;

beforeEach(async () => {
  ({ tally, clock } = await openTestTally({ start: '2026-03-01T20:00:00Z' }));
  await tally.putAccount({ id: 'ana', kind: 'user', timezone: 'Asia/Tokyo' });
  await tally.issueGrant({ account: 'ana', kind: 'bonus', amount: '1000' });
  const run = (
    operation: string,
    usage: Record<string, number>,
    outcome: 'succeeded' | 'failed',
    thread: string,
  ) => tally.charge({ account: 'ana', operation, usage, outcome, metadata: { thread, project: 'site' } });
  await run('image.standard', { images: 1 }, 'succeeded', 't1'); // 10 credits, 2026-03-02 05:00 in Tokyo
  clock.advanceSeconds(3600);
  await run('image.standard', { images: 2 }, 'failed', 't1'); // failed images cost in full: 20
  clock.advanceSeconds(86_400);
  await run('chat.fast', { input_tokens: 3000 }, 'succeeded', 't2'); // 3
  await run('chat.fast', { input_tokens: 3000 }, 'failed', 't2'); // failed chat costs nothing
});

describe('usage history', () => {
  it('filters and pages charges newest first with an opaque cursor', async () => {
    const first = await tally.listCharges({ account: 'ana', limit: 3 });
    expect(first.data.map((charge) => [charge.operation, charge.credits])).toEqual([
      ['chat.fast', '0'],
      ['chat.fast', '3'],
      ['image.standard', '20'],
    ]);
    const second = await tally.listCharges({ account: 'ana', limit: 3, cursor: first.next_cursor! });
    expect(second.data.map((charge) => charge.credits)).toEqual(['10']);
    expect(second.next_cursor).toBeNull();
    expect((await tally.listCharges({ account: 'ana', thread: 't1', outcome: 'failed' })).data).toHaveLength(
      1,
    );
    expect((await tally.listCharges({ account: 'ana', from: '2026-03-02T21:00:00Z' })).data).toHaveLength(2);
    expect((await refusal(tally.listCharges({ account: 'ana', cursor: 'garbage' }))).code).toBe(
      'invalid_request',
    );
    expect((await refusal(tally.listCharges({ account: 'nobody' }))).code).toBe('account_not_found');
  });

  it('groups usage by local day and counts failed runs in the spend, not in the outputs', async () => {
    const by_day = await tally.usage({ account: 'ana', group_by: 'day' });
    expect(by_day.groups).toEqual([
      { key: '2026-03-02', credits: '30', count: 2, failed: 1 },
      { key: '2026-03-03', credits: '3', count: 2, failed: 1 },
    ]);
    // 33 credits bought two usable outputs.
    expect(by_day).toMatchObject({
      total_credits: '33',
      runs: 4,
      usable_outputs: 2,
      effective_cost_per_usable_output: '16.5',
    });
    const by_thread = await tally.usage({ account: 'ana', group_by: 'thread' });
    expect(by_thread.groups.map((group) => [group.key, group.credits])).toEqual([
      ['t1', '30'],
      ['t2', '3'],
    ]);
  });

  it('serves history over HTTP, as JSON pages and as a CSV export', async () => {
    const admin = 'sk_admin_history_0123456789';
    await tally.access.createKey({ scope: 'admin', name: 'test', secret: admin });
    const app = createApp({ tally });
    const headers = { authorization: `Bearer ${admin}` };
    const page = (await (
      await app.request('/v1/charges?account=ana&limit=2&operation=chat.fast', { headers })
    ).json()) as {
      data: unknown[];
      next_cursor: string | null;
    };
    expect(page.data).toHaveLength(2);
    const csv = await app.request('/v1/charges?account=ana&format=csv', { headers });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'id,created_at,operation,model,outcome,credits,refunded,money,currency,thread,project,app,member,usage,price_version,usage_source',
    );
    expect(lines).toHaveLength(5);
    expect(lines[4]).toContain(',image.standard,,succeeded,10,0,0.1,USD,t1,site,,,"{""images"":""1""}",1');
    const usage = (await (
      await app.request('/v1/accounts/ana/usage?group_by=operation', { headers })
    ).json()) as {
      groups: { key: string }[];
    };
    expect(usage.groups.map((group) => group.key)).toEqual(['chat.fast', 'image.standard']);
  });
});
