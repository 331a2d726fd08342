/** The store contract, purchases: purchases by id, session and payment; the provider inbox; auto-recharge settings. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { AutoRechargeRow, PurchaseRow, Store } from '../store.ts';
import { accountRow, T0 } from './fixtures.ts';

function purchaseRow(id: string, overrides: Partial<PurchaseRow> = {}): PurchaseRow {
  return {
    account_id: 'alice',
    id,
    pack_id: 'starter',
    quantity: 2,
    terms: {
      pack_name: 'Starter',
      kind: 'purchased',
      expires_after_days: null,
      bonus_kind: 'bonus',
      bonus_expires_after_days: 90,
      refund_policy: 'clamp',
      each_minor: '1000',
    },
    credits_micros: 2_000_000_000n,
    bonus_micros: 200_000_000n,
    currency: 'USD',
    amount_minor: 2000n,
    provider: 'stripe',
    status: 'pending',
    auto_recharge: false,
    checkout_session_id: null,
    checkout_url: null,
    payment_id: null,
    grant_id: null,
    bonus_grant_id: null,
    refunds: [],
    failure: null,
    reference: null,
    created_at_ms: T0,
    updated_at_ms: T0,
    started_at_ms: null,
    paid_at_ms: null,
    expires_at_ms: T0 + 86_400_000,
    ...overrides,
  };
}

export function purchasesContract(current: () => Store): void {
  // Its own block: the accounts it inserts first are for its tests only.
  describe('purchases', () => purchaseTests(current));
}

function purchaseTests(current: () => Store): void {
  let store: Store;
  beforeEach(async () => {
    store = current();
    await store.transaction(async (tx) => {
      await tx.insertAccount(accountRow('alice'));
      await tx.insertAccount(accountRow('bob'));
    });
  });

  it('keeps a purchase exactly, finds it by session and payment, and pages an account’s newest first', async () => {
    await store.transaction(async (tx) => {
      await tx.insertPurchase(purchaseRow('pur_1'));
      await tx.insertPurchase(purchaseRow('pur_2', { auto_recharge: true }));
      await tx.insertPurchase(purchaseRow('pur_3', { account_id: 'bob' }));
    });
    const paid = {
      ...purchaseRow('pur_1'),
      status: 'partially_refunded' as const,
      checkout_session_id: 'cs_1',
      checkout_url: 'https://checkout.example/cs_1',
      payment_id: 'pi_1',
      grant_id: 'gr_1',
      bonus_grant_id: 'gr_2',
      refunds: [
        {
          id: 'prf_1',
          amount_minor: 500n,
          clawed_back_micros: 550_000_000n,
          debt_micros: 0n,
          reason: 'asked',
          provider_refund_id: 're_1',
          at_ms: T0 + 5,
        },
      ],
      paid_at_ms: T0 + 1,
      started_at_ms: T0,
      updated_at_ms: T0 + 5,
    };
    await store.transaction((tx) => tx.updatePurchase(paid));
    expect(await store.read((tx) => tx.getPurchase('pur_1'))).toEqual(paid);
    expect((await store.read((tx) => tx.getPurchaseByCheckoutSession('cs_1')))?.id).toBe('pur_1');
    expect((await store.read((tx) => tx.getPurchaseByPayment('pi_1')))?.id).toBe('pur_1');
    expect(await store.read((tx) => tx.getPurchase('pur_x'))).toBeUndefined();
    const ids = (rows: PurchaseRow[]) => rows.map((row) => row.id);
    expect(ids(await store.read((tx) => tx.listPurchases('alice', { limit: 10 })))).toEqual([
      'pur_2',
      'pur_1',
    ]);
    expect(ids(await store.read((tx) => tx.listPurchases('alice', { before: 'pur_2', limit: 10 })))).toEqual([
      'pur_1',
    ]);
    expect(ids(await store.read((tx) => tx.listAllPurchases({ limit: 10, status: 'pending' })))).toEqual([
      'pur_3',
      'pur_2',
    ]);
    // Pending and never started: to be started; both also expire once their time is up.
    expect(ids(await store.read((tx) => tx.listPurchasesToProcess(T0, 10)))).toEqual(['pur_2', 'pur_3']);
    // Auto-recharge credits this month: the auto one, bonus included.
    expect(await store.read((tx) => tx.sumAutoRechargeMicros('alice', T0))).toBe(2_200_000_000n);
    expect(await store.read((tx) => tx.sumAutoRechargeMicros('alice', T0 + 1))).toBe(0n);
  });

  it('refuses a second purchase with the same payment id', async () => {
    await store.transaction(async (tx) => {
      await tx.insertPurchase(purchaseRow('pur_1', { payment_id: 'pi_same' }));
    });
    await expect(
      store.transaction((tx) => tx.insertPurchase(purchaseRow('pur_2', { payment_id: 'pi_same' }))),
    ).rejects.toThrow();
  });

  it('records a provider event once: a second of the same id changes nothing', async () => {
    const event = {
      provider: 'stripe',
      id: 'evt_1',
      type: 'checkout.session.completed',
      body_hash: 'h1',
      purchase_id: 'pur_1',
      outcome: 'applied' as const,
      received_at_ms: T0,
    };
    await store.transaction((tx) => tx.insertProviderEvent(event));
    await store.transaction((tx) =>
      tx.insertProviderEvent({ ...event, body_hash: 'h2', outcome: 'ignored' }),
    );
    expect(await store.read((tx) => tx.getProviderEvent('stripe', 'evt_1'))).toEqual(event);
    expect(await store.read((tx) => tx.getProviderEvent('test', 'evt_1'))).toBeUndefined();
    expect(await store.read((tx) => tx.listProviderEvents({ limit: 5 }))).toEqual([event]);
  });

  it('keeps auto-recharge settings per account, and finds those the monthly ceiling holds back', async () => {
    const settings: AutoRechargeRow = {
      account_id: 'alice',
      enabled: true,
      threshold_micros: 100_000_000n,
      pack_id: null,
      currency: 'USD',
      monthly_max_micros: 3_000_000_000n,
      status: 'active',
      status_reason: null,
      in_flight_purchase_id: null,
      failures_in_row: 0,
      resume_at_ms: T0 + 1_000,
      updated_at_ms: T0,
    };
    await store.transaction((tx) => tx.putAutoRecharge(settings));
    await store.transaction((tx) =>
      tx.putAutoRecharge({ ...settings, account_id: 'bob', in_flight_purchase_id: 'pur_1' }),
    );
    expect(await store.read((tx) => tx.getAutoRecharge('alice'))).toEqual(settings);
    expect(await store.read((tx) => tx.listAutoRechargesResuming(T0 + 999, 10))).toEqual([]);
    // Bob has a recharge in flight: nothing to resume.
    expect(await store.read((tx) => tx.listAutoRechargesResuming(T0 + 1_000, 10))).toEqual(['alice']);
    const paused = {
      ...settings,
      status: 'paused' as const,
      status_reason: 'needs action',
      failures_in_row: 1,
    };
    await store.transaction((tx) => tx.putAutoRecharge(paused));
    expect(await store.read((tx) => tx.getAutoRecharge('alice'))).toEqual(paused);
    expect(await store.read((tx) => tx.listAutoRechargesResuming(T0 + 1_000, 10))).toEqual([]);
  });
}
