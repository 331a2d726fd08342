/**
 * Seed 002, credit-based monetization: "Multiple Purchase Options … Auto-Recharge: Allow users to
 * set up automatic credit purchases when balance gets low … Bulk Discounts … Easy Top-Up …
 * Remaining Estimates".
 */
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/index.ts';
import { openTestTally } from '../helpers.ts';

describe('credit UX (seed 002): packages, bulk discounts, top-up and auto-recharge', () => {
  it('offers small and large packages, each larger one cheaper per credit', async () => {
    const { tally } = await openTestTally({ config: presets['credit-ux'] });
    const packs = (await tally.listPacks()).data;
    expect(
      packs.map((pack) => [pack.id, pack.prices[0]!.unit_price, pack.prices[0]!.discount_percent]),
    ).toEqual([
      ['try', '0.01', '0'],
      ['regular', '0.009', '10'],
      ['studio', '0.008', '20'],
    ]);
    // Bulk: five Regular packs at once cost 16 dollars each, 20 % under the Try pack per credit.
    expect(packs[1]!.volume_tiers[0]!.prices[0]).toMatchObject({ amount: '16.00', discount_percent: '20' });
    // The Studio bonus never expires, and counts in its price per credit received.
    expect(packs[2]).toMatchObject({ bonus: { credits: '1000', expires_after_days: null } });
    expect(packs[2]!.prices[0]!.unit_price_with_bonus).toBe('0.007273');
  });

  it('a writer tops up in one step, sees how many drafts it buys, and never runs dry with auto-recharge', async () => {
    const { tally } = await openTestTally({ config: presets['credit-ux'], start: '2026-05-04T10:00:00Z' });
    await tally.putAccount({ id: 'writer', kind: 'user' });
    // "Easy Top-Up": one call, paid at once by the demo's test provider.
    const top_up = await tally.purchase({ account: 'writer', pack: 'try' });
    expect(top_up).toMatchObject({ status: 'paid', price: { amount: '5.00' } });
    // "Cost Per Action" and "Remaining Estimates" before the first draft.
    const estimate = await tally.estimate({
      account: 'writer',
      operation: 'writer.draft',
      usage: { input_tokens: 1500, output_tokens: 800 },
    });
    expect(estimate.credits_max).toBe('10');
    expect(estimate.runs_affordable).toBe(50);
    // "Auto-Recharge … when balance gets low": below 100 credits, one Regular pack, at most 4,000 a month.
    await tally.setAutoRecharge({
      account: 'writer',
      enabled: true,
      threshold: 100,
      pack: 'regular',
      monthly_max: 4000,
    });
    for (let draft = 0; draft < 45; draft++)
      await tally.charge({
        account: 'writer',
        operation: 'writer.draft',
        usage: { input_tokens: 1500, output_tokens: 800 },
      });
    await tally.payments.processDue();
    const bought = (await tally.listPurchases({ account: 'writer' })).data;
    expect(bought.map((purchase) => [purchase.pack, purchase.status, purchase.auto_recharge])).toEqual([
      ['regular', 'paid', true],
      ['try', 'paid', false],
    ]);
    expect((await tally.getBalance('writer')).available).toBe('2050');
    expect((await tally.verify()).ok).toBe(true);
  });
});
