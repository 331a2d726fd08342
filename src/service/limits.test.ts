import { describe, expect, it } from 'vitest';
import { openTestTally, refusal } from '../../test/helpers.ts';
import type { TallyConfigInput } from '../schema/config.ts';

const CONFIG: TallyConfigInput = {
  limits: [{ id: 'free_daily', window: 'day', max: 100, kinds: ['free'] }],
  price_book: {
    operations: { 'chat.fast': { rates: { credits: '1' } }, 'image.standard': { rates: { images: '10' } } },
  },
};

describe('limits', () => {
  it('the free-credit daily cap blocks free credits but not purchased ones, and resets at local midnight', async () => {
    const { tally, clock } = await openTestTally({ config: CONFIG, start: '2027-05-10T12:00:00Z' });
    await tally.putAccount({ id: 'ana', kind: 'user', timezone: 'America/New_York' });
    await tally.issueGrant({ account: 'ana', kind: 'free', amount: '2000' });
    await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 100 } });
    const refused = await refusal(
      tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 1 } }),
    );
    expect(refused.code).toBe('insufficient_credits');
    expect(refused.extensions).toMatchObject({
      needed: '1',
      available: '0',
      blocked_by: [
        {
          kind: 'limit',
          limit_id: 'free_daily',
          max: '100',
          used: '100',
          resets_at: '2027-05-11T04:00:00.000Z',
        },
      ],
      options: ['top_up', 'wait'],
    });
    await tally.issueGrant({ account: 'ana', kind: 'purchased', amount: '50' });
    const paid = await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 30 } });
    expect(paid.grants.map((grant) => [grant.kind, grant.amount])).toEqual([['purchased', '30']]);
    const balance = await tally.getBalance('ana');
    expect(balance.limits).toEqual([
      expect.objectContaining({
        id: 'free_daily',
        used: '100',
        max: '100',
        remaining: '0',
        resets_at: '2027-05-11T04:00:00.000Z',
      }),
    ]);
    clock.set('2027-05-11T04:00:00Z'); // midnight in New York
    const next_day = await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 40 } });
    expect(next_day.grants.map((grant) => grant.kind)).toEqual(['free']);
  });

  it('mixes capped and uncapped kinds in one run', async () => {
    const { tally } = await openTestTally({ config: CONFIG });
    await tally.putAccount({ id: 'ana', kind: 'user' });
    await tally.issueGrant({ account: 'ana', kind: 'free', amount: '2000' });
    await tally.issueGrant({ account: 'ana', kind: 'purchased', amount: '500' });
    const charge = await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 150 } });
    expect(charge.grants.map((grant) => [grant.kind, grant.amount])).toEqual([
      ['free', '100'],
      ['purchased', '50'],
    ]);
  });

  it('counts held credits against a limit at once and gives back released ones; fires limit.reached once per window', async () => {
    const { tally } = await openTestTally({ config: CONFIG });
    await tally.putAccount({ id: 'ana', kind: 'user' });
    await tally.issueGrant({ account: 'ana', kind: 'free', amount: '2000' });
    const held = await tally.reserve({ account: 'ana', operation: 'chat.fast', max_credits: '80' });
    expect((await tally.listLimits('ana'))[0]).toMatchObject({ used: '80', remaining: '20' });
    await tally.release({ reservation: held.id });
    expect((await tally.listLimits('ana'))[0]).toMatchObject({ used: '0' });
    await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 100 } });
    await refusal(tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 1 } }));
    const reached = (await tally.listEvents({ type: 'limit.reached', limit: 10 })).data;
    expect(reached.map((event) => event.data.limit_id)).toEqual(['free_daily']);
  });

  it('lets users set their own spending limit, per window and operation', async () => {
    const { tally, clock } = await openTestTally({ config: CONFIG });
    await tally.putAccount({ id: 'ana', kind: 'user' });
    await tally.issueGrant({ account: 'ana', kind: 'purchased', amount: '1000' });
    await tally.putLimit({
      account: 'ana',
      id: 'images_rolling',
      window: 'rolling_24h',
      max: '30',
      operations: ['image.*'],
    });
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 3 } });
    expect(
      (await refusal(tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 1 } })))
        .code,
    ).toBe('insufficient_credits');
    await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 5 } }); // other operations are not limited
    clock.advanceSeconds(24 * 3_600 + 1); // a charge counts for 24 full hours
    await tally.charge({ account: 'ana', operation: 'image.standard', usage: { images: 1 } });
    const limit = (await tally.listLimits('ana')).find((candidate) => candidate.id === 'images_rolling');
    expect(limit).toMatchObject({ source: 'account', used: '10', resets_at: null });
    await expect(
      tally.putLimit(
        { account: 'ana', id: 'free_daily', window: 'day', max: '100000' },
        { by_customer: true },
      ),
    ).rejects.toMatchObject({ code: 'limit_raise_forbidden' });
  });

  it("keeps the operator's limits and the customer's apart: a customer only lowers, both apply, the tighter wins", async () => {
    const { tally } = await openTestTally({ config: CONFIG });
    await tally.putAccount({ id: 'ana', kind: 'user' });
    await tally.issueGrant({ account: 'ana', kind: 'free', amount: '2000' });
    await tally.issueGrant({ account: 'ana', kind: 'purchased', amount: '1000' });
    // The operator lowers free_daily (config: 100) to 50 for ana.
    await tally.putLimit({ account: 'ana', id: 'free_daily', window: 'day', max: '50', kinds: ['free'] });
    const lift = {
      account: 'ana',
      id: 'free_daily',
      window: 'day' as const,
      max: '1000000000',
      kinds: ['free'],
    };
    const refused = await refusal(tally.putLimit(lift, { by_customer: true }));
    expect([refused.code, refused.status, refused.extensions.max]).toEqual([
      'limit_raise_forbidden',
      403,
      '50',
    ]);
    await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 500 } });
    expect((await tally.getBalance('ana')).by_kind.free!.available).toBe('1950');

    // The customer's own, lower free_daily is a record beside the operator's; the operator's still stands.
    await tally.putLimit({ ...lift, max: '20' }, { by_customer: true });
    await tally.putLimit({ account: 'ana', id: 'free_daily', window: 'day', max: '60', kinds: ['free'] });
    expect(
      (await tally.listLimits('ana'))
        .filter((limit) => limit.id === 'free_daily')
        .map((limit) => [limit.source, limit.max, limit.used]),
    ).toEqual([
      ['account', '60', '50'],
      ['customer', '20', '50'],
    ]);
    // The customer may set and raise limits of their own, as long as they stay below the operator's.
    await tally.putLimit(
      { account: 'ana', id: 'my_budget', window: 'month', max: '300' },
      { by_customer: true },
    );
    await tally.putLimit(
      { account: 'ana', id: 'my_budget', window: 'month', max: '800' },
      { by_customer: true },
    );
    const blocked = await refusal(
      tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 400 } }),
    );
    expect(blocked.extensions.blocked_by).toEqual([
      expect.objectContaining({ limit_id: 'free_daily', set_by: 'operator', used: '50', max: '60' }),
      expect.objectContaining({ limit_id: 'free_daily', set_by: 'customer', used: '50', max: '20' }),
      expect.objectContaining({ limit_id: 'my_budget', set_by: 'customer', used: '500', max: '800' }),
    ]);
  });

  it('draws the sooner-expiring of two overlapping 60-day Pro grants first', async () => {
    const { tally, clock } = await openTestTally({
      config: {
        plans: {
          pro: {
            price: { currency: 'USD', amount_minor: 1900 },
            rank: 1,
            allowances: [
              {
                id: 'pro',
                kind: 'subscription',
                amount: 1000,
                period: 'billing_cycle',
                expires: { after_days: 60 },
              },
            ],
          },
        },
        price_book: CONFIG.price_book,
      },
      start: '2027-01-01T00:00:00Z',
    });
    await tally.putAccount({ id: 'ana', kind: 'user' });
    await tally.subscribe({ account: 'ana', plan: 'pro' });
    clock.set('2027-02-01T00:00:00Z');
    const grants = (await tally.listGrants('ana')).map((grant) => [
      grant.effective_at.slice(0, 10),
      grant.expires_at?.slice(0, 10),
    ]);
    expect(grants).toEqual([
      ['2027-01-01', '2027-03-02'],
      ['2027-02-01', '2027-04-02'],
    ]);
    const charge = await tally.charge({ account: 'ana', operation: 'chat.fast', usage: { credits: 1200 } });
    expect(charge.grants.map((grant) => grant.amount)).toEqual(['1000', '200']);
    expect(charge.grants[0]!.grant_id).toBe((await tally.listGrants('ana'))[0]!.id);
  });
});
