/**
 * Seed 003, the developer platform: "Daily credits are used first. Subscription credits are
 * consumed after daily credits run out. Bonus/grant credits are used last."
 */
import { describe, expect, it } from 'vitest';
import { openTestTally } from '../helpers.ts';

describe('developer platform (seed 003): daily → subscription → bonus', () => {
  it('a 120-credit run on daily 50 + subscription 1,000 + bonus 200 takes 50 daily and 70 subscription', async () => {
    const { tally } = await openTestTally({
      config: { price_book: { operations: { 'agent.run': { rates: { credits: '1' } } } } },
      start: '2026-03-10T09:00:00Z',
    });
    await tally.putAccount({ id: 'dev', kind: 'user', timezone: 'America/New_York' });
    // Daily credits reset at midnight in the account's timezone (05:00 UTC in March before DST).
    await tally.issueGrant({
      account: 'dev',
      kind: 'daily',
      amount: '50',
      expires_at: '2026-03-11T04:00:00Z',
    });
    await tally.issueGrant({
      account: 'dev',
      kind: 'subscription',
      amount: '1000',
      expires_at: '2026-04-10T00:00:00Z',
    });
    await tally.issueGrant({ account: 'dev', kind: 'bonus', amount: '200', reason: 'community build' });

    const charge = await tally.charge({
      account: 'dev',
      operation: 'agent.run',
      usage: { credits: 120 },
      metadata: { thread: 'T-1' },
    });

    expect(charge.credits).toBe('120');
    expect(charge.grants.map((grant) => [grant.kind, grant.amount])).toEqual([
      ['daily', '50'],
      ['subscription', '70'],
    ]);
    const balance = await tally.getBalance('dev');
    expect(balance.available).toBe('1130');
    expect(balance.by_kind.daily?.available).toBe('0');
    expect(balance.by_kind.subscription?.available).toBe('930');
    expect(balance.by_kind.bonus?.available).toBe('200');
    expect((await tally.verify()).ok).toBe(true);
  });

  it('restores credits lost to a confirmed platform fault as a non-expiring bonus grant', async () => {
    const { tally } = await openTestTally({
      config: { price_book: { operations: { 'agent.run': { rates: { credits: '1' } } } } },
    });
    await tally.putAccount({ id: 'dev', kind: 'user' });
    await tally.issueGrant({ account: 'dev', kind: 'subscription', amount: '100' });
    const looped = await tally.charge({
      account: 'dev',
      operation: 'agent.run',
      usage: { credits: 40 },
      metadata: { thread: 'T-9' },
    });
    const refund = await tally.refundCharge({
      charge: looped.id,
      reason: 'High Credit Usage Review: preview build loop',
    });
    expect(refund.grant).toMatchObject({
      kind: 'bonus',
      amount: '40',
      expires_at: null,
      refund_of: looped.id,
    });
    expect((await tally.getBalance('dev')).by_kind.bonus?.available).toBe('40');
  });
});
