/**
 * Seed 000, the prompt marketplace ("How Credit Works"), on examples/prompt-marketplace.yaml.
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.ts';
import { openTestTally, refusal } from '../helpers.ts';

const PRESET = new URL('../../examples/prompt-marketplace.yaml', import.meta.url).pathname;
const run = { operation: 'prompt.run', model: 'gpt-4o' } as const;

describe('prompt marketplace (seed 000)', () => {
  it('"All users receive 2,000 free credits each month" with "a daily usage limit of 100 credits per day on free credits"', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-03-10T15:00:00Z' });
    await tally.putAccount({ id: 'runner', kind: 'user', timezone: 'Europe/Berlin' });
    expect((await tally.getBalance('runner')).by_kind.free?.available).toBe('2000');

    // A long run: 30,000 tokens in, 17,500 out on gpt-4o = 7.5 + 17.5 = 25 credits; four of them reach the cap.
    const usage = { input_tokens: 30_000, output_tokens: 17_500 };
    for (let index = 0; index < 4; index++) await tally.charge({ account: 'runner', ...run, usage });
    const capped = await refusal(tally.charge({ account: 'runner', ...run, usage }));
    expect(capped.extensions).toMatchObject({
      blocked_by: [{ kind: 'limit', limit_id: 'free_daily', resets_at: '2027-03-10T23:00:00.000Z' }],
      // "you will need to wait until the next day … or you can upgrade to Pro"
      options: ['top_up', 'upgrade', 'wait'],
    });
    const estimate = await tally.estimate({ account: 'runner', ...run, usage });
    expect(estimate).toMatchObject({ affordable: false, credits_expected: '25' });

    clock.set('2027-03-10T23:00:00Z'); // midnight in Berlin
    expect((await tally.charge({ account: 'runner', ...run, usage })).credits).toBe('25');
  });

  it('"Free credits expire after 30 days and are reset to a 2,000 balance every month"', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-01-20T10:00:00Z' });
    await tally.putAccount({ id: 'runner', kind: 'user' });
    await tally.charge({ account: 'runner', ...run, usage: { input_tokens: 40_000, output_tokens: 0 } }); // 10 credits
    // The runner's month runs from the day they signed up: 30 days means 30 days from their arrival.
    const [first] = await tally.listGrants('runner');
    expect(first).toMatchObject({
      effective_at: '2027-01-20T10:00:00.000Z',
      expires_at: '2027-02-19T10:00:00.000Z',
    });
    clock.set('2027-02-20T10:00:00Z');
    // Not 3,990: the new month's grant resets the balance to 2,000.
    expect((await tally.getBalance('runner')).by_kind.free?.available).toBe('2000');
    clock.set('2027-03-21T00:00:00Z');
    const grants = (await tally.listGrants('runner')).map((grant) => [
      grant.effective_at.slice(0, 10),
      grant.status,
    ]);
    expect(grants).toEqual([
      ['2027-01-20', 'expired'],
      ['2027-02-20', 'expired'],
      ['2027-03-20', 'active'],
    ]);
  });

  it('"Credits received via a Pro subscription expire after 60 days, while top-up credits never expire"', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-01-05T00:00:00Z' });
    await tally.putAccount({ id: 'pro', kind: 'user' });
    await tally.subscribe({ account: 'pro', plan: 'pro' });
    await tally.issueGrant({ account: 'pro', kind: 'purchased', amount: '300', source: 'purchase' });
    const pro_grant = (await tally.listGrants('pro')).find((grant) => grant.kind === 'subscription')!;
    expect(pro_grant).toMatchObject({ amount: '5000', expires_at: '2027-03-06T00:00:00.000Z' });
    clock.set('2028-01-05T00:00:00Z');
    const balance = await tally.getBalance('pro');
    expect(balance.by_kind.purchased?.available).toBe('300');
  });

  it('"Premium credits require a subscription to use"; premium models are for Pro', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-01-05T00:00:00Z' });
    await tally.putAccount({ id: 'pro', kind: 'user' });
    const premium_run = {
      account: 'pro',
      operation: 'prompt.run.premium',
      model: 'gpt-4.1',
      usage: { input_tokens: 1000, output_tokens: 100 },
    };
    expect((await refusal(tally.charge(premium_run))).code).toBe('entitlement_required');
    await tally.subscribe({ account: 'pro', plan: 'pro' });
    await tally.charge(premium_run);
    await tally.cancelSubscription('pro');
    clock.set('2027-02-05T00:00:00Z'); // the subscription ends; its credits are still there but unusable
    const balance = await tally.getBalance('pro');
    // The premium run was paid from free credits, which are drawn first: all 5,000 Pro credits are left, unusable.
    expect(balance.by_kind.subscription).toMatchObject({ available: '0', unusable: '5000' });
    expect((await refusal(tally.charge(premium_run))).code).toBe('entitlement_required');
    // Free credits still pay for ordinary runs; the refusal for a large one names the unusable premium credits.
    const big = await refusal(tally.reserve({ account: 'pro', ...run, max_credits: '2500' }));
    expect(big.extensions.blocked_by).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'subscription_required',
          grant_kind: 'subscription',
          amount: '5000',
        }),
      ]),
    );
  });

  it('automations spend credits too: a run from an n8n workflow is charged like any other, and shows in history by app', async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await tally.putAccount({ id: 'runner', kind: 'user' });
    await tally.charge({
      account: 'runner',
      ...run,
      usage: { input_tokens: 4000, output_tokens: 0 },
      metadata: { app: 'n8n' },
    });
    const history = await tally.listCharges({ account: 'runner', app: 'n8n' });
    expect(history.data.map((charge) => charge.credits)).toEqual(['1']);
  });

  it('"B runs A\'s prompt at an AI cost of 50 credits: B pays 50, A earns 5; A runs their own prompt and earns nothing"', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-04-01T09:00:00Z' });
    for (const id of ['author', 'runner']) await tally.putAccount({ id, kind: 'user' });
    // 50,000 output tokens on gpt-4o at USD 10 per million = USD 0.50 = 50 credits.
    const usage = { input_tokens: 0, output_tokens: 50_000 };
    const by_runner = await tally.charge({
      account: 'runner',
      ...run,
      usage,
      metadata: { author: 'author', prompt: 'cover-letter' },
    });
    expect(by_runner.credits).toBe('50');
    expect(by_runner.creator).toEqual({ account: 'author', amount: '5', reversed: '0', basis: 'cost' });
    expect((await tally.getBalance('runner')).available).toBe('1950');
    // Earnings are not spendable credits: the author's balance is their free 2,000.
    expect((await tally.getBalance('author')).available).toBe('2000');

    const own = await tally.charge({ account: 'author', ...run, usage, metadata: { author: 'author' } });
    expect([own.credits, own.creator]).toEqual(['50', null]);

    // A reserved run names its author the same way, with `creator`; a second run of the prompt.
    const held = await tally.reserve({
      account: 'runner',
      ...run,
      max_credits: '30',
      creator: 'author',
      metadata: { prompt: 'cover-letter' },
    });
    const settled = await tally.settle({
      reservation: held.id,
      usage: { input_tokens: 0, output_tokens: 20_000 },
    });
    expect(settled.creator).toMatchObject({ account: 'author', amount: '2' });

    let statement = await tally.creatorEarnings({ creator: 'author', group_by: 'prompt' });
    expect(statement).toMatchObject({
      groups: [{ key: 'cover-letter', runs: 2, gross: '70', share: '7', reversed: '0', net: '7' }],
      net: '7',
      money: { currency: 'USD', amount: '0.07' },
      // Within the 14-day refund window nothing is payable yet.
      payable: '0',
      in_hold: '7',
    });
    expect((await refusal(tally.payout({ creator: 'author', amount: '1' }))).code).toBe(
      'payout_exceeds_payable',
    );

    // A refund of half the first run takes back half of the author's share of it, at once.
    await tally.refundCharge({ charge: by_runner.id, amount: '25', reason: 'the output was cut off' });
    expect((await tally.getCharge(by_runner.id)).creator).toMatchObject({ amount: '2.5', reversed: '2.5' });

    clock.set('2027-04-15T09:00:01Z');
    statement = await tally.creatorEarnings({ creator: 'author' });
    expect(statement).toMatchObject({ net: '4.5', payable: '4.5', in_hold: '0', paid: '0' });
    const payout = await tally.payout({ creator: 'author', amount: '4.5', reference: 'paypal 7731' });
    expect(payout).toMatchObject({ amount: '4.5', money: { currency: 'USD', amount_minor: 5 }, as: 'money' });
    expect((await refusal(tally.payout({ creator: 'author', amount: '0.01' }))).code).toBe(
      'payout_exceeds_payable',
    );

    // A refund after the payout: the share already paid comes back as a negative line.
    await tally.refundCharge({ charge: settled.id, reason: 'duplicate run' });
    statement = await tally.creatorEarnings({ creator: 'author' });
    expect(statement).toMatchObject({ net: '2.5', paid: '4.5', payable: '-2' });
    expect(await tally.verify()).toMatchObject({ ok: true });
  });

  it('refuses a run credited to a creator who is not an account, and changes nothing', async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await tally.putAccount({ id: 'runner', kind: 'user' });
    const refused = await refusal(
      tally.charge({
        account: 'runner',
        ...run,
        usage: { input_tokens: 4000 },
        metadata: { author: 'ghost' },
      }),
    );
    expect(refused.code).toBe('creator_not_found');
    expect((await tally.getBalance('runner')).available).toBe('2000');
  });

  it("the demo runs a prompt of the preset's demo author, who sees 10 % of its cost as earnings", async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await runDemo(tally, { log: () => {} });
    const [run] = (await tally.listCharges({ account: 'demo-user' })).data;
    expect(run!.creator).toMatchObject({ account: 'ada-writes', basis: 'cost' });
    const statement = await tally.creatorEarnings({ creator: 'ada-writes', group_by: 'prompt' });
    expect(statement.groups).toEqual([
      expect.objectContaining({ key: 'landing-page-copy', runs: 1, net: run!.creator!.amount }),
    ]);
  });
});
