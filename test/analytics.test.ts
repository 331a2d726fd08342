/**
 * The operator's analytics on both stores: breakage by kind, plan and month (credits that expired
 * unused), and the effective cost per usable output by operation and project (seed 001: failed
 * runs count in the spend, not in the outputs).
 */
import { describe, expect, inject, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { Store } from '../src/store/store.ts';
import { type Dialect, dialects } from './dialects.ts';
import { openTestTally } from './helpers.ts';
import { createDatabase } from './postgres-server.ts';

async function storeOf(dialect: Dialect): Promise<Store | undefined> {
  if (dialect === 'sqlite') return undefined;
  return PostgresStore.open({ url: await createDatabase(inject('postgres_url')) });
}

describe.each(dialects)('analytics on %s', (dialect) => {
  it('reports breakage by kind, plan and month, and the effective cost per usable output', async () => {
    const { tally, clock } = await openTestTally({
      store: await storeOf(dialect),
      start: '2027-01-10T00:00:00Z',
      config: {
        kinds: ['promo', 'bonus'],
        plans: { pro: { price: { currency: 'USD', amount_minor: 1000 }, rank: 1 } },
        price_book: { operations: { chat: { rates: { credits: '1' }, failed_run: { policy: 'full' } } } },
      },
    });
    for (const id of ['ann', 'ben']) await tally.putAccount({ id, kind: 'user' });
    await tally.subscribe({ account: 'ben', plan: 'pro' });
    await tally.issueGrant({
      account: 'ann',
      kind: 'promo',
      amount: '30',
      expires_at: '2027-01-20T00:00:00Z',
    });
    await tally.issueGrant({
      account: 'ben',
      kind: 'promo',
      amount: '50',
      expires_at: '2027-02-05T00:00:00Z',
    });
    await tally.issueGrant({ account: 'ben', kind: 'bonus', amount: '100' });
    await tally.charge({
      account: 'ann',
      operation: 'chat',
      usage: { credits: 10 },
      metadata: { project: 'site' },
    });
    await tally.charge({
      account: 'ann',
      operation: 'chat',
      usage: { credits: 6 },
      outcome: 'failed',
      metadata: { project: 'site' },
    });
    await tally.charge({ account: 'ben', operation: 'chat', usage: { credits: 20 } });
    clock.set('2027-03-01T00:00:00Z');
    await tally.bookDueWork();

    // ann's promo: 30 − 16 = 14 expired on 20 January; ben's: 50 − 20 = 30 on 5 February.
    expect(await tally.breakage({ group_by: 'kind' })).toMatchObject({
      groups: [{ key: 'promo', credits: '44', grants: 2, money: { currency: 'USD', amount: '0.44' } }],
      credits: '44',
    });
    expect(
      (await tally.breakage({ group_by: 'month' })).groups.map((group) => [group.key, group.credits]),
    ).toEqual([
      ['2027-01', '14'],
      ['2027-02', '30'],
    ]);
    expect(
      (await tally.breakage({ group_by: 'plan' })).groups.map((group) => [group.key, group.credits]),
    ).toEqual([
      ['(no plan)', '14'],
      ['pro', '30'],
    ]);
    expect((await tally.breakage({ from: '2027-02-01T00:00:00Z' })).credits).toBe('30');

    // 36 credits for 2 usable outputs (the failed run counts in the spend only).
    expect((await tally.effectiveCost({ group_by: 'operation' })).groups).toEqual([
      expect.objectContaining({
        key: 'chat',
        credits: '36',
        runs: 3,
        failed: 1,
        usable_outputs: 2,
        effective_cost_per_usable_output: '18',
      }),
    ]);
    expect(
      (await tally.effectiveCost({ group_by: 'project' })).groups.map((group) => [
        group.key,
        group.effective_cost_per_usable_output,
      ]),
    ).toEqual([
      ['(none)', '20'],
      ['site', '16'],
    ]);
    await tally.close();
  });
});
