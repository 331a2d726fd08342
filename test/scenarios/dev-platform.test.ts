/**
 * Seed 003, the developer platform: "Daily credits are used first. Subscription credits are
 * consumed after daily credits run out. Bonus/grant credits are used last."
 */
import { describe, expect, it } from 'vitest';
import { openTestTally, refusal } from '../helpers.ts';

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

const PRESET = new URL('../../examples/dev-platform.yaml', import.meta.url).pathname;

describe('developer platform (seed 003) on examples/dev-platform.yaml', () => {
  it('"Daily credits … renew at midnight in your account timezone … no rollover"', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-06-01T10:00:00Z' });
    await tally.putAccount({ id: 'dev', kind: 'user', timezone: 'Asia/Tokyo' });
    await tally.charge({
      account: 'dev',
      operation: 'chat.question',
      usage: { input_tokens: 4000, output_tokens: 200 },
    }); // 1.5
    expect((await tally.getBalance('dev')).by_kind.daily?.available).toBe('3.5');
    clock.set('2027-06-01T15:00:00Z'); // midnight in Tokyo
    expect((await tally.getBalance('dev')).by_kind.daily?.available).toBe('5');
  });

  it('"Subscription credits … renew on your billing date", used after daily credits, bonus credits last', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-06-15T12:00:00Z' });
    await tally.putAccount({ id: 'dev', kind: 'user', timezone: 'UTC' });
    await tally.subscribe({ account: 'dev', plan: 'pro' });
    await tally.issueGrant({
      account: 'dev',
      kind: 'bonus',
      amount: '200',
      reason: 'community build',
      source: 'promotion',
    });
    const charge = await tally.charge({
      account: 'dev',
      operation: 'agent.message',
      usage: { input_tokens: 30_000, cached_input_tokens: 0, output_tokens: 2_000 },
      metadata: { thread: 'T-42' },
    }); // 9 + 3 = 12 credits
    expect(charge.grants.map((grant) => [grant.kind, grant.amount])).toEqual([
      ['daily', '5'],
      ['subscription', '7'],
    ]);
    clock.set('2027-07-15T12:00:00Z');
    expect((await tally.getBalance('dev')).by_kind).toMatchObject({
      subscription: { available: '1000' },
      bonus: { available: '200' },
    });
  });

  it('"Upgrade takes effect immediately … credits are prorated", better models on the premium tier', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-06-01T00:00:00Z' });
    await tally.putAccount({ id: 'dev', kind: 'user' });
    await tally.subscribe({ account: 'dev', plan: 'pro' });
    const premium = {
      account: 'dev',
      operation: 'agent.message.premium',
      usage: { input_tokens: 1000, output_tokens: 100 },
    };
    expect((await refusal(tally.charge(premium))).extensions).toMatchObject({
      entitlement: 'premium_models',
      plans: ['max'],
    });
    clock.set('2027-06-16T00:00:00Z'); // half of June's cycle
    const upgrade = await tally.subscribe({ account: 'dev', plan: 'max' });
    expect(upgrade.proration?.credits).toBe('4500');
    await tally.charge(premium);
  });

  it('one-time bundles are non-expiring bonus credits; custom plans for teams share one pool', async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await tally.putAccount({ id: 'acme', kind: 'team' });
    await tally.subscribe({
      account: 'acme',
      plan: 'max',
      overrides: { allowances: { max_credits: '50000' } },
    });
    const bundle = await tally.issueGrant({
      account: 'acme',
      kind: 'bonus',
      amount: '2500',
      source: 'purchase',
      reason: 'bundle',
    });
    expect(bundle.expires_at).toBeNull();
    for (const member of ['ana', 'ben']) {
      await tally.charge({
        account: 'acme',
        member,
        operation: 'chat.question',
        usage: { input_tokens: 10_000, output_tokens: 0 },
      });
    }
    const usage = await tally.usage({ account: 'acme', group_by: 'member' });
    expect(usage.groups.map((group) => [group.key, group.credits])).toEqual([
      ['ana', '3'],
      ['ben', '3'],
    ]);
    // 50,000 custom plan credits + 2,500 bundle + 5 daily − 6 used.
    expect((await tally.getBalance('acme')).available).toBe('52499');
  });
});
