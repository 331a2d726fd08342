import { describe, expect, it } from 'vitest';
import { openTestTally, refusal } from '../../test/helpers.ts';
import type { TallyConfigInput } from '../schema/config.ts';

const CONFIG: TallyConfigInput = {
  plans: {
    basic: {
      price: { currency: 'USD', amount_minor: 1000 },
      rank: 1,
      allowances: [{ id: 'basic_credits', kind: 'subscription', amount: 1000, period: 'billing_cycle' }],
    },
    max: {
      price: { currency: 'USD', amount_minor: 9000 },
      rank: 2,
      allowances: [{ id: 'max_credits', kind: 'subscription', amount: 10000, period: 'billing_cycle' }],
      limits: [{ id: 'max_daily', window: 'day', max: 5000 }],
      entitlements: ['premium'],
    },
  },
  price_book: {
    operations: {
      'chat.fast': { rates: { credits: '1' } },
      'chat.premium': { rates: { credits: '1' }, requires_entitlement: 'premium' },
    },
  },
};

describe('subscriptions', () => {
  it('takes plan on PUT /v1/accounts/{id}: subscribes a new account, changes the plan of an existing one, and repeats safely', async () => {
    const { tally } = await openTestTally({ config: CONFIG, start: '2027-01-10T00:00:00Z' });
    const created = await tally.putAccount({ id: 'p', kind: 'user', plan: 'basic' });
    expect(created.subscription).toMatchObject({ plan: 'basic', status: 'active' });
    expect((await tally.getBalance('p')).available).toBe('1000');
    const again = await tally.putAccount({ id: 'p', kind: 'user', plan: 'basic' });
    expect(again.subscription).toEqual(created.subscription);
    expect((await tally.getBalance('p')).available).toBe('1000');
    const upgraded = await tally.putAccount({ id: 'p', kind: 'user', plan: 'max' });
    expect(upgraded.subscription).toMatchObject({ plan: 'max', status: 'active' });
    expect((await tally.getAccount('p')).subscription).toMatchObject({ plan: 'max' });
    expect((await refusal(tally.putAccount({ id: 'q', kind: 'user', plan: 'platinum' }))).code).toBe(
      'plan_not_found',
    );
    expect((await refusal(tally.getAccount('q'))).code).toBe('account_not_found');
  });

  it('issues plan credits each billing cycle, renewing on the billing date', async () => {
    const { tally, clock } = await openTestTally({ config: CONFIG, start: '2027-01-31T09:00:00Z' });
    await tally.putAccount({ id: 'u', kind: 'user' });
    const subscribed = await tally.subscribe({ account: 'u', plan: 'basic' });
    expect(subscribed.subscription).toMatchObject({
      plan: 'basic',
      status: 'active',
      current_period_start: '2027-01-31T09:00:00.000Z',
      current_period_end: '2027-02-28T09:00:00.000Z',
    });
    expect((await tally.getBalance('u')).available).toBe('1000');
    clock.set('2027-02-28T09:00:00Z');
    expect((await tally.getBalance('u')).available).toBe('1000'); // no rollover: January's expired, February's issued
    expect((await tally.getSubscription('u'))?.current_period_end).toBe('2027-03-31T09:00:00.000Z');
    expect((await tally.listGrants('u')).map((grant) => [grant.source, grant.status])).toEqual([
      ['plan', 'expired'],
      ['plan', 'active'],
    ]);
  });

  it('upgrades at once: at exactly half the cycle, 1,000 → 10,000 a month gives +4,500 now, expiring at cycle end', async () => {
    const { tally, clock } = await openTestTally({ config: CONFIG, start: '2027-04-01T00:00:00Z' });
    await tally.putAccount({ id: 'u', kind: 'user' });
    await tally.subscribe({ account: 'u', plan: 'basic' }); // cycle: Apr 1 → May 1 (30 days)
    clock.set('2027-04-16T00:00:00Z');
    const upgrade = await tally.subscribe({ account: 'u', plan: 'max' });
    expect(upgrade).toMatchObject({
      effective: 'now',
      proration: { credits: '4500', money: { currency: 'USD', amount_minor: 4000 } },
      subscription: { plan: 'max', current_period_end: '2027-05-01T00:00:00.000Z' },
    });
    const proration = (await tally.listGrants('u')).find((grant) => grant.source === 'proration')!;
    expect(proration).toMatchObject({
      amount: '4500',
      expires_at: '2027-05-01T00:00:00.000Z',
      kind: 'subscription',
    });
    expect((await tally.getBalance('u')).available).toBe('5500');
    // The new plan's entitlements apply at once; its full allowance comes with the next cycle.
    await tally.charge({ account: 'u', operation: 'chat.premium', usage: { credits: 1 } });
    clock.set('2027-05-01T00:00:00Z');
    expect((await tally.getBalance('u')).available).toBe('10000');
  });

  it('downgrades and cancels at period end; premium operations need the plan that entitles them', async () => {
    const { tally, clock } = await openTestTally({ config: CONFIG, start: '2027-04-01T00:00:00Z' });
    await tally.putAccount({ id: 'u', kind: 'user' });
    await tally.subscribe({ account: 'u', plan: 'max' });
    const downgrade = await tally.subscribe({ account: 'u', plan: 'basic' });
    expect(downgrade).toMatchObject({
      effective: 'period_end',
      subscription: { plan: 'max', pending_plan: 'basic' },
    });
    clock.set('2027-05-01T00:00:00Z');
    expect(await tally.getSubscription('u')).toMatchObject({ plan: 'basic', pending_plan: null });
    expect((await tally.getBalance('u')).available).toBe('1000');
    const refused = await refusal(
      tally.charge({ account: 'u', operation: 'chat.premium', usage: { credits: 1 } }),
    );
    expect(refused).toMatchObject({
      code: 'entitlement_required',
      status: 403,
      extensions: { entitlement: 'premium', plans: ['max'] },
    });

    await tally.cancelSubscription('u');
    expect(await tally.getSubscription('u')).toMatchObject({ status: 'active', cancel_at_period_end: true });
    clock.set('2027-06-01T00:00:00Z');
    expect(await tally.getSubscription('u')).toMatchObject({
      status: 'canceled',
      ended_at: '2027-06-01T00:00:00.000Z',
    });
    expect((await tally.getBalance('u')).available).toBe('0');
    clock.set('2027-07-01T00:00:00Z');
    expect((await tally.listGrants('u')).filter((grant) => grant.status === 'active')).toHaveLength(0);
    expect((await tally.verify()).ok).toBe(true);
  });

  it('takes custom per-account numbers, and refuses unknown plans', async () => {
    const { tally } = await openTestTally({ config: CONFIG });
    await tally.putAccount({ id: 'team', kind: 'team' });
    await tally.subscribe({
      account: 'team',
      plan: 'basic',
      overrides: { allowances: { basic_credits: '25000' }, entitlements: ['premium'] },
    });
    expect((await tally.getBalance('team')).available).toBe('25000');
    await tally.charge({ account: 'team', operation: 'chat.premium', usage: { credits: 1 } });
    expect((await refusal(tally.subscribe({ account: 'team', plan: 'platinum' }))).code).toBe(
      'plan_not_found',
    );
    expect((await refusal(tally.cancelSubscription('nobody'))).code).toBe('account_not_found');
  });
});
