/**
 * Seed 001, fair credit pricing: "Clear credit-to-dollar ratio displayed prominently … No
 * expiration … Easy-to-understand tiered pricing for bulk credit purchases with clear volume
 * discount breakpoints … without pressure tactics".
 */
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/index.ts';
import { openTestTally } from '../helpers.ts';

describe('fair pricing (seed 001): a clear ratio, breakpoints, nothing that expires', () => {
  it('shows one credit as one cent and the volume breakpoints with their exact discounts', async () => {
    const { tally } = await openTestTally({ config: presets['fair-pricing'] });
    const packs = await tally.listPacks();
    expect(packs.credit_value).toEqual({
      currency: 'USD',
      amount_minor_per_credit: '1',
      amount_per_credit: '0.01',
    });
    const [thousand, ten_thousand] = packs.data;
    expect(thousand!.prices[0]).toMatchObject({ amount: '10.00', unit_price: '0.01' });
    expect(
      thousand!.volume_tiers.map((tier) => [
        tier.from_quantity,
        tier.prices[0]!.unit_price,
        tier.prices[0]!.discount_percent,
      ]),
    ).toEqual([
      [5, '0.0095', '5'],
      [10, '0.009', '10'],
      [25, '0.0085', '15'],
    ]);
    // "'Bonus' credits that expire quickly" is the red flag: this bonus never expires.
    expect(ten_thousand).toMatchObject({
      expires_after_days: null,
      bonus: { credits: '500', expires_after_days: null },
    });
  });

  it('bought credits stay until used: a year later they are all still there', async () => {
    const { tally, clock } = await openTestTally({
      config: presets['fair-pricing'],
      start: '2026-02-01T00:00:00Z',
    });
    await tally.putAccount({ id: 'maker', kind: 'user' });
    const bought = await tally.purchase({ account: 'maker', pack: 'credits_1000', quantity: 10 });
    // The breakpoint at 10: 90 dollars for 10,000 credits, the price shown before paying.
    expect(bought).toMatchObject({ status: 'paid', credits: '10000', price: { amount: '90.00' } });
    expect(bought.grant).toMatchObject({ expires_at: null });
    await tally.charge({
      account: 'maker',
      operation: 'image.generate',
      model: 'premium',
      usage: { images: 1 },
    });
    clock.advance(366 * 24 * 3_600_000);
    await tally.bookDueWork();
    expect((await tally.getBalance('maker')).available).toBe('9975');
  });
});
