/**
 * Seed 003, the developer platform: "Daily credits are used first. Subscription credits are
 * consumed after daily credits run out. Bonus/grant credits are used last."
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.ts';
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
      await tally.putAccount({ id: member, kind: 'user' });
      await tally.putMember({ team: 'acme', member, role: member === 'ana' ? 'owner' : 'member' });
    }
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

  it('"Shared credits across team members": a member with a monthly limit of 150 on a team pool is refused at 150, while the other members go on', async () => {
    const { tally } = await openTestTally({ config: PRESET, start: '2026-06-03T09:00:00Z' });
    await tally.putAccount({ id: 'acme', kind: 'team' });
    await tally.issueGrant({ account: 'acme', kind: 'bonus', amount: '1000', reason: 'team bundle' });
    for (const id of ['ana', 'ben', 'cat']) await tally.putAccount({ id, kind: 'user' });
    await tally.putMember({ team: 'acme', member: 'ana', role: 'owner' });
    await tally.putMember({ team: 'acme', member: 'ben', role: 'member', limits: { month: '150' } });
    await tally.putMember({ team: 'acme', member: 'cat', role: 'admin' });

    // 100,000 input tokens of chat at 0.0003 = 30 credits a question.
    const question = { operation: 'chat.question', usage: { input_tokens: 100_000, output_tokens: 0 } };
    for (let index = 0; index < 5; index++)
      await tally.charge({ account: 'acme', member: 'ben', ...question });
    const refused = await refusal(tally.charge({ account: 'acme', member: 'ben', ...question }));
    expect(refused.code).toBe('insufficient_credits');
    expect(refused.extensions.blocked_by).toEqual([
      expect.objectContaining({
        kind: 'limit',
        limit_id: 'member:ben:month',
        resets_at: '2026-07-01T00:00:00.000Z',
      }),
    ]);
    // The pool has plenty left, and the others go on.
    for (const member of ['ana', 'cat']) await tally.charge({ account: 'acme', member, ...question });
    // 1,000 + the team's 5 daily credits − 7 questions of 30.
    expect((await tally.getBalance('acme')).available).toBe('795');
    const usage = await tally.usage({ account: 'acme', group_by: 'member' });
    expect(usage.groups.map((group) => [group.key, group.credits])).toEqual([
      ['ana', '30'],
      ['ben', '150'],
      ['cat', '30'],
    ]);

    // A limit the team sets on each member applies to the members it already has, at once.
    await tally.putLimit({
      account: 'acme',
      id: 'per_member',
      window: 'month',
      max: '60',
      each_member: true,
    });
    await tally.charge({ account: 'acme', member: 'cat', ...question });
    const capped = await refusal(tally.charge({ account: 'acme', member: 'cat', ...question }));
    expect(capped.extensions.blocked_by).toEqual([expect.objectContaining({ limit_id: 'per_member' })]);
    await tally.charge({ account: 'acme', member: 'ana', ...question });
    expect((await tally.estimate({ account: 'acme', member: 'ana', ...question })).affordable).toBe(false);

    // Someone outside the team cannot spend its pool; the last owner cannot leave.
    await tally.putAccount({ id: 'eve', kind: 'user' });
    expect((await refusal(tally.charge({ account: 'acme', member: 'eve', ...question }))).code).toBe(
      'member_not_in_team',
    );
    expect((await refusal(tally.removeMember('acme', 'ana'))).code).toBe('team_needs_owner');
    expect((await refusal(tally.putMember({ team: 'acme', member: 'ana', role: 'member' }))).code).toBe(
      'team_needs_owner',
    );
    await tally.putMember({ team: 'acme', member: 'cat', role: 'owner' });
    await tally.removeMember('acme', 'ana');
    expect((await tally.listMembers('acme')).data.map((row) => [row.member, row.role, row.limits])).toEqual([
      ['ben', 'member', { month: '150' }],
      ['cat', 'owner', {}],
    ]);
    expect((await refusal(tally.charge({ account: 'acme', member: 'ana', ...question }))).code).toBe(
      'member_not_in_team',
    );
  });

  it('"For teams or users with consistently high usage, custom plans can be configured": own allowances and prices, kept at renewal and upgrade', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2026-05-04T12:00:00Z' });
    await tally.putAccount({ id: 'bigco', kind: 'team' });
    await tally.subscribe({ account: 'bigco', plan: 'pro' });
    const custom = await tally.putPlanOverrides(
      { account: 'bigco', allowances: { pro_credits: '4000' }, prices: { 'agent.message': '0.8' } },
      { actor: 'key_ops' },
    );
    expect(custom.overrides).toEqual({
      allowances: { pro_credits: '4000000000' },
      prices: { 'agent.message': '0.8' },
    });
    // 100,000 input tokens at 0.0003 = 30 credits, at the custom price 24; chat questions keep the book's price.
    const message = { account: 'bigco', operation: 'agent.message', usage: { input_tokens: 100_000 } };
    expect((await tally.estimate(message)).credits_expected).toBe('24');
    expect((await tally.charge(message)).credits).toBe('24');
    expect((await tally.charge({ ...message, operation: 'chat.question' })).credits).toBe('30');

    // The renewal grants the custom 4,000, not the plan's 1,000; an upgrade keeps the custom price.
    clock.set('2026-06-04T12:00:01Z');
    expect((await tally.getBalance('bigco')).by_kind.subscription?.available).toBe('4000');
    await tally.subscribe({ account: 'bigco', plan: 'max' });
    expect((await tally.charge(message)).credits).toBe('24');
    const audit = await tally.listAudit({ account: 'bigco' });
    expect(audit.data.map((entry) => [entry.action, entry.actor])).toContainEqual([
      'put_plan_overrides',
      'key_ops',
    ]);

    // Overrides must name what the plan has.
    const refused = await refusal(tally.putPlanOverrides({ account: 'bigco', allowances: { nope: '1' } }));
    expect([refused.code, refused.message]).toEqual([
      'invalid_request',
      expect.stringContaining('max_credits'),
    ]);
    expect(
      (await refusal(tally.putPlanOverrides({ account: 'bigco', prices: { 'no.such': '0.5' } }))).code,
    ).toBe('operation_not_found');
    await tally.putAccount({ id: 'solo', kind: 'user' });
    expect(
      (await refusal(tally.putPlanOverrides({ account: 'solo', prices: { 'agent.message': '0.5' } }))).code,
    ).toBe('subscription_not_found');
  });

  it("the preset's demo team: three members on one pool, one with a monthly limit of their own, seeded once", async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await runDemo(tally, { log: () => {} });
    await runDemo(tally, { log: () => {} });
    expect((await tally.listMembers('acme')).data.map((row) => [row.member, row.role, row.limits])).toEqual([
      ['ana', 'owner', {}],
      ['ben', 'member', { month: '150' }],
      ['cat', 'admin', {}],
    ]);
    // 2,500 bundle (granted once, whatever the restarts) + the team's 5 daily credits.
    expect((await tally.getBalance('acme')).available).toBe('2505');
  });

  it('"When you report unexpectedly high credit usage": review the thread for retry loops and errors, then restore the credits as a bonus grant in one call', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2026-07-01T09:00:00Z' });
    await tally.putAccount({ id: 'dev', kind: 'user' });
    await tally.issueGrant({ account: 'dev', kind: 'purchased', amount: '500' });
    const message = (input_tokens: number, outcome: 'succeeded' | 'failed' = 'succeeded') =>
      tally.charge({
        account: 'dev',
        operation: 'agent.message',
        usage: { input_tokens },
        outcome,
        metadata: { thread: 'T-42' },
      });
    // The user asks, the agent plans; then a preview build fails and the platform retries it in a cycle.
    await message(20_000); // 6
    clock.advanceSeconds(60);
    await tally.recordIncident({
      from: '2026-07-01T09:02:00Z',
      to: '2026-07-01T09:30:00Z',
      operations: ['agent.message'],
      note: 'preview builds failing',
    });
    const cycle = [];
    for (let round = 0; round < 3; round++) {
      clock.advanceSeconds(60);
      cycle.push(await message(50_000)); // build: 15
      clock.advanceSeconds(60);
      cycle.push(await message(10_000)); // read the error: 3
    }
    const review = await tally.threadReview({ account: 'dev', thread: 'T-42' });
    expect(review.charges).toHaveLength(7);
    expect(review.flags.map((flag) => [flag.kind, flag.charges.length])).toEqual([
      ['retry_cycle', 4],
      ['incident', 6],
    ]);
    // Every run inside the incident: 3 × (15 + 3) = 54 credits.
    expect(review.proposed_compensation).toBe('54');

    const compensation = await tally.compensate(
      {
        account: 'dev',
        charges: cycle.map((charge) => charge.id),
        reason: 'High Credit Usage Review: preview build loop',
      },
      { idempotency_key: 'review-T-42', actor: 'key_support' },
    );
    expect(compensation.grant).toMatchObject({
      kind: 'bonus',
      amount: '54',
      expires_at: null,
      source: 'compensation',
    });
    const again = await tally.compensate(
      {
        account: 'dev',
        charges: cycle.map((charge) => charge.id),
        reason: 'High Credit Usage Review: preview build loop',
      },
      { idempotency_key: 'review-T-42', actor: 'key_support' },
    );
    expect(again.id).toBe(compensation.id);
    expect((await tally.getBalance('dev')).by_kind.bonus?.available).toBe('54');
    // The same charges cannot be compensated twice, nor beyond their cost.
    const twice = await refusal(
      tally.compensate({ account: 'dev', charges: [cycle[0]!.id], reason: 'again' }),
    );
    expect(twice.code).toBe('compensation_exceeds_charges');
    expect((await tally.threadReview({ account: 'dev', thread: 'T-42' })).proposed_compensation).toBe('0');
    const events = await tally.listEvents({ account: 'dev', type: 'compensation.granted' });
    expect(events.data).toHaveLength(1);
    expect(
      (await tally.listAudit({ account: 'dev' })).data.map((entry) => [entry.action, entry.actor]),
    ).toContainEqual(['compensate', 'key_support']);
    expect(await tally.verify()).toMatchObject({ ok: true, problems: [] });
  });

  it('"Check if preview/build failures triggered unnecessary retries": a message that produces nothing after 3 identical ones is free, as the price table says', async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await tally.putAccount({ id: 'dev', kind: 'user' });
    await tally.issueGrant({ account: 'dev', kind: 'purchased', amount: '100' });
    const table = await tally.priceTable();
    expect(table.operations.find((operation) => operation.id === 'agent.message')!.no_progress).toEqual({
      after_identical: 3,
      credits: '0',
    });
    const message = (output_tokens: number, thread = 'T-7') =>
      tally.charge({
        account: 'dev',
        operation: 'agent.message',
        usage: { input_tokens: 10_000, output_tokens },
        metadata: { thread },
      });
    // Three identical requests that answered: 3 + 0.3 credits each.
    for (const output of [200, 180, 220]) expect((await message(output)).credits).toMatch(/^3\.\d+$/);
    // The fourth, identical, produces nothing: free. In another thread it costs what it used.
    expect((await message(0)).credits).toBe('0');
    expect((await message(0, 'T-8')).credits).toBe('3');
  });
});
