import { describe, expect, it } from 'vitest';
import { ledgerSnapshot, openTestTally, refusal } from '../../../test/helpers.ts';
import type { TallyConfigInput } from '../../schema/config.ts';

const CONFIG: TallyConfigInput = {
  credit_value: { currency: 'USD', amount_minor_per_credit: '1' },
  packs: [
    { id: 'starter', name: 'Starter', credits: 1000, price: { USD: '10.00' } },
    {
      id: 'plus',
      name: 'Plus',
      credits: 5000,
      price: { USD: '45.00', EUR: '42' },
      bonus: { credits: 500, kind: 'bonus', expires_after_days: 90 },
      volume_tiers: [{ from_quantity: 3, price: { USD: '40.00' } }],
    },
    { id: 'owed', credits: 1000, price: { USD: '10.00' }, refund_policy: 'debt' },
  ],
  payments: { provider: 'test', providers: ['test', 'manual'] },
  price_book: { operations: { run: { rates: { credits: '1' } } } },
};

async function open() {
  const opened = await openTestTally({ config: CONFIG, start: '2027-03-10T12:00:00Z' });
  await opened.tally.putAccount({ id: 'ann', kind: 'user' });
  return opened;
}

describe('packs', () => {
  it('lists each pack with its unit price and its discount against the base pack, exactly', async () => {
    const { tally } = await open();
    const packs = await tally.listPacks();
    expect(packs.version).toMatch(/^[0-9a-f]{12}$/);
    const plus = packs.data.find((pack) => pack.id === 'plus')!;
    expect(plus.prices.find((price) => price.currency === 'USD')).toEqual({
      currency: 'USD',
      amount: '45.00',
      unit_price: '0.009',
      unit_price_with_bonus: '0.008182',
      discount_percent: '10',
    });
    expect(plus.bonus).toEqual({ credits: '500', kind: 'bonus', expires_after_days: 90 });
    expect(plus.volume_tiers[0]!.prices[0]).toMatchObject({ amount: '40.00', discount_percent: '20' });
    expect(packs.data[0]).toMatchObject({ id: 'starter', base: true });
  });
});

describe('purchases', () => {
  it('turns a paid purchase into a purchased grant and its bonus grant, in one step', async () => {
    const { tally } = await open();
    const purchase = await tally.purchase({ account: 'ann', pack: 'plus' });
    expect(purchase).toMatchObject({
      status: 'paid',
      credits: '5000',
      bonus_credits: '500',
      provider: 'test',
    });
    expect(purchase.price).toEqual({ currency: 'USD', amount: '45.00', amount_minor: 4500 });
    expect(purchase.grant).toMatchObject({
      kind: 'purchased',
      amount: '5000',
      expires_at: null,
      source: 'purchase',
    });
    expect(purchase.bonus_grant).toMatchObject({
      kind: 'bonus',
      amount: '500',
      expires_at: '2027-06-08T12:00:00.000Z',
    });
    expect((await tally.getBalance('ann')).available).toBe('5500');
    const events = await tally.listEvents({ account: 'ann', type: 'purchase.completed' });
    expect(events.data).toHaveLength(1);
    expect((await tally.verify()).ok).toBe(true);
  });

  it('prices a quantity at its volume tier and locks the price it was sold at', async () => {
    const { tally } = await open();
    const purchase = await tally.purchase({ account: 'ann', pack: 'plus', quantity: 3 });
    expect(purchase.price.amount).toBe('120.00');
    expect(purchase.credits).toBe('15000');
    const refused = await refusal(
      tally.purchase({ account: 'ann', pack: 'plus', packs_version: '000000000000' }),
    );
    expect(refused.code).toBe('pack_terms_changed');
  });

  it('grants once when the confirmation comes twice at once, or before the checkout is recorded', async () => {
    const { tally } = await open();
    const twice = await tally.purchase({ account: 'ann', pack: 'starter', test_card: 'twice' });
    expect(twice.status).toBe('paid');
    const early = await tally.purchase({ account: 'ann', pack: 'starter', test_card: 'out_of_order' });
    expect(early.status).toBe('paid');
    expect((await tally.getBalance('ann')).available).toBe('2000');
    const inbox = await tally.listProviderEvents();
    expect(inbox.map((event) => event.outcome).sort()).toEqual(['applied', 'applied']);
  });

  it('ends a declined purchase without credits, and says why', async () => {
    const { tally } = await open();
    const declined = await tally.purchase({ account: 'ann', pack: 'starter', test_card: 'decline' });
    expect(declined).toMatchObject({ status: 'failed', grant: null });
    expect(declined.failure).toMatch(/^declined/);
    expect((await tally.getBalance('ann')).available).toBe('0');
    expect((await tally.listEvents({ account: 'ann', type: 'purchase.failed' })).data).toHaveLength(1);
  });

  it('waits for an operator to confirm a manual purchase, and audits the confirmation', async () => {
    const { tally } = await open();
    const pending = await tally.purchase({ account: 'ann', pack: 'starter', provider: 'manual' });
    expect(pending.status).toBe('pending');
    expect((await tally.getBalance('ann')).available).toBe('0');
    const paid = await tally.payments.confirm(pending.id, 'INV-2027-031', { actor: 'key_ops' });
    expect(paid).toMatchObject({ status: 'paid', reference: 'INV-2027-031' });
    const again = await tally.payments.confirm(pending.id, 'INV-2027-031', { actor: 'key_ops' });
    expect(again.grant?.id).toBe(paid.grant?.id);
    expect((await tally.getBalance('ann')).available).toBe('1000');
    const audit = await tally.listAudit({ account: 'ann' });
    expect(audit.data.some((entry) => entry.action === 'confirm_purchase' && entry.actor === 'key_ops')).toBe(
      true,
    );
  });

  it('expires a purchase left pending past its day', async () => {
    const { tally, clock } = await open();
    const pending = await tally.purchase({ account: 'ann', pack: 'starter', provider: 'manual' });
    clock.advance(25 * 3_600_000);
    expect(await tally.payments.processDue()).toEqual({ started: 0, expired: 1 });
    expect((await tally.getPurchase(pending.id)).status).toBe('expired');
  });

  it('refuses bad purchases and changes nothing', async () => {
    const { tally } = await open();
    const before = await ledgerSnapshot(tally);
    expect((await refusal(tally.purchase({ account: 'ann', pack: 'mega' }))).code).toBe('pack_not_found');
    for (const quantity of [0, -1, 101])
      expect((await refusal(tally.purchase({ account: 'ann', pack: 'starter', quantity }))).code).toBe(
        'invalid_request',
      );
    expect((await refusal(tally.purchase({ account: 'ann', pack: 'starter', currency: 'EUR' }))).code).toBe(
      'currency_not_offered',
    );
    expect(
      (await refusal(tally.purchase({ account: 'ann', pack: 'starter', provider: 'stripe' }))).code,
    ).toBe('provider_not_offered');
    expect((await refusal(tally.purchase({ account: 'nobody', pack: 'starter' }))).code).toBe(
      'account_not_found',
    );
    expect(await ledgerSnapshot(tally)).toEqual(before);
    expect((await tally.listPurchases({ account: 'ann' })).data).toHaveLength(0);
  });
});

describe('purchase refunds', () => {
  it('takes back what is left of a half-spent purchase, bonus included (clamp), and the ledger verifies', async () => {
    const { tally } = await open();
    const purchase = await tally.purchase({ account: 'ann', pack: 'plus' });
    // 5500 credits: the bonus (500) is drawn first, then 2250 of the purchased grant.
    await tally.charge({ account: 'ann', operation: 'run', usage: { credits: 2750 } });
    const refunded = await tally.refundPurchase({ purchase: purchase.id, reason: 'customer asked' });
    expect(refunded.status).toBe('refunded');
    expect(refunded.refunds[0]).toMatchObject({
      clawed_back: '2750',
      debt: '0',
      amount: { amount: '45.00' },
    });
    expect((await tally.getBalance('ann')).available).toBe('0');
    expect((await tally.verify()).ok).toBe(true);
    const again = await refusal(tally.refundPurchase({ purchase: purchase.id, reason: 'twice' }));
    expect(again.code).toBe('purchase_not_refundable');
  });

  it('refunds part of a purchase pro rata, and never more than was paid', async () => {
    const { tally } = await open();
    const purchase = await tally.purchase({ account: 'ann', pack: 'starter' });
    const half = await tally.refundPurchase({ purchase: purchase.id, amount: '5.00', reason: 'half' });
    expect(half.status).toBe('partially_refunded');
    expect(half.refunds[0]!.clawed_back).toBe('500');
    const over = await refusal(
      tally.refundPurchase({ purchase: purchase.id, amount: '5.01', reason: 'too much' }),
    );
    expect(over.code).toBe('refund_exceeds_purchase');
    expect((await tally.getBalance('ann')).available).toBe('500');
  });

  it('records spent credits as debt under the debt policy, repaid from the next credits', async () => {
    const { tally } = await open();
    const purchase = await tally.purchase({ account: 'ann', pack: 'owed' });
    await tally.charge({ account: 'ann', operation: 'run', usage: { credits: 600 } });
    const refunded = await tally.refundPurchase({ purchase: purchase.id, reason: 'chargeback' });
    expect(refunded.refunds[0]).toMatchObject({ clawed_back: '400', debt: '600' });
    expect((await tally.getBalance('ann')).available).toBe('0');
    await tally.issueGrant({ account: 'ann', kind: 'promo', amount: 1000 });
    // 600 of the next 1000 repay the debt.
    expect((await tally.getBalance('ann')).available).toBe('400');
    expect((await tally.verify()).ok).toBe(true);
  });
});

describe('auto-recharge', () => {
  const settle = async (tally: Awaited<ReturnType<typeof open>>['tally'], credits: number) =>
    tally.charge({ account: 'ann', operation: 'run', usage: { credits } });

  it('starts one recharge when a charge takes the balance below the threshold, and buys it', async () => {
    const { tally } = await open();
    await tally.issueGrant({ account: 'ann', kind: 'promo', amount: 500 });
    const settings = await tally.setAutoRecharge({
      account: 'ann',
      enabled: true,
      threshold: 200,
      pack: 'starter',
    });
    expect(settings).toMatchObject({ enabled: true, status: 'active', in_flight_purchase: null });
    await settle(tally, 350);
    await settle(tally, 10);
    const auto = (await tally.listPurchases({ account: 'ann' })).data;
    expect(auto).toHaveLength(1);
    expect(auto[0]).toMatchObject({ status: 'pending', auto_recharge: true });
    expect(await tally.payments.processDue()).toEqual({ started: 1, expired: 0 });
    expect((await tally.getBalance('ann')).available).toBe('1140');
    expect((await tally.getAutoRecharge('ann'))?.in_flight_purchase).toBeNull();
  });

  it('stops at the monthly ceiling and resumes the next month', async () => {
    const { tally, clock } = await open();
    await tally.setAutoRecharge({
      account: 'ann',
      enabled: true,
      threshold: 100,
      pack: 'starter',
      monthly_max: 3000,
    });
    const drain = async () => {
      await settle(tally, Number((await tally.getBalance('ann')).available));
      await tally.payments.processDue();
    };
    // Enabled on an empty account: the first recharge starts at once.
    await tally.payments.processDue();
    for (let round = 0; round < 5; round++) await drain();
    const bought = (await tally.listPurchases({ account: 'ann' })).data.filter(
      (purchase) => purchase.status === 'paid',
    );
    expect(bought).toHaveLength(3);
    expect((await tally.getAutoRecharge('ann'))?.bought_this_month).toBe('3000');
    // Nothing can be spent on an empty balance: the background work looks again once April begins.
    clock.set('2027-03-31T23:59:00Z');
    await tally.payments.processDue();
    expect((await tally.listPurchases({ account: 'ann' })).data).toHaveLength(3);
    clock.set('2027-04-01T00:00:00Z');
    await tally.payments.processDue();
    expect(
      (await tally.listPurchases({ account: 'ann' })).data.filter((p) => p.status === 'paid'),
    ).toHaveLength(4);
  });

  it('disables itself on a decline, sends auto_recharge.failed, and does not retry', async () => {
    const { tally } = await open();
    await tally.putAccount({ id: 'ann', kind: 'user', metadata: { test_card: 'decline' } });
    await tally.issueGrant({ account: 'ann', kind: 'promo', amount: 500 });
    await tally.setAutoRecharge({ account: 'ann', enabled: true, threshold: 200, pack: 'starter' });
    await settle(tally, 400);
    await tally.payments.processDue();
    for (let index = 0; index < 5; index++) await settle(tally, 10);
    await tally.payments.processDue();
    expect((await tally.listPurchases({ account: 'ann' })).data).toHaveLength(1);
    expect(await tally.getAutoRecharge('ann')).toMatchObject({
      status: 'disabled',
      in_flight_purchase: null,
    });
    expect((await tally.listEvents({ account: 'ann', type: 'auto_recharge.failed' })).data).toHaveLength(1);
  });

  it('pauses when the card needs the customer, and refuses a ceiling below one pack', async () => {
    const { tally } = await open();
    await tally.putAccount({ id: 'ann', kind: 'user', metadata: { test_card: 'requires_action' } });
    await tally.setAutoRecharge({ account: 'ann', enabled: true, threshold: 200, pack: 'starter' });
    await tally.payments.processDue();
    expect(await tally.getAutoRecharge('ann')).toMatchObject({ status: 'paused' });
    const low = await refusal(
      tally.setAutoRecharge({
        account: 'ann',
        enabled: true,
        threshold: 200,
        pack: 'plus',
        monthly_max: 5000,
      }),
    );
    expect(low.code).toBe('monthly_max_below_pack');
    expect(await tally.getAutoRecharge('ann')).toMatchObject({ status: 'paused', pack: 'starter' });
  });
});
