/** The store contract, plans: allowance schedules, subscriptions and limits. */
import { beforeEach, expect, it } from 'vitest';
import type { Store } from '../store.ts';

import { accountRow, grantRow, T0 } from './fixtures.ts';

export function plansContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('keeps allowance schedules, one grant per allowance period, subscriptions and limits', async () => {
    await store.transaction(async (tx) => {
      await tx.insertAccount(accountRow('alice'));
      await tx.putAllowanceSchedule({
        account_id: 'alice',
        allowance_id: 'daily',
        plan_id: null,
        anchor_ms: T0,
        next_period_start_ms: T0,
      });
      await tx.putAllowanceSchedule({
        account_id: 'alice',
        allowance_id: 'daily',
        plan_id: null,
        anchor_ms: T0,
        next_period_start_ms: T0 + 9,
      });
      await tx.putAllowanceSchedule({
        account_id: 'alice',
        allowance_id: 'pro',
        plan_id: 'pro',
        anchor_ms: T0,
        next_period_start_ms: T0,
      });
      await tx.insertGrant(
        grantRow('alice', 'gr_d1', 5n, { allowance_id: 'daily', period_start_ms: T0, kind: 'daily' }),
      );
    });
    expect(
      (await store.read((tx) => tx.listAllowanceSchedules('alice'))).map((row) => [
        row.allowance_id,
        row.next_period_start_ms,
      ]),
    ).toEqual([
      ['daily', T0 + 9],
      ['pro', T0],
    ]);
    await store.transaction((tx) => tx.deleteAllowanceSchedule('alice', 'pro'));
    expect(await store.read((tx) => tx.listAllowanceSchedules('alice'))).toHaveLength(1);
    expect((await store.read((tx) => tx.getAllowanceGrant('alice', 'daily', T0)))?.id).toBe('gr_d1');
    expect(await store.read((tx) => tx.getAllowanceGrant('alice', 'daily', T0 + 1))).toBeUndefined();
    await expect(
      store.transaction((tx) =>
        tx.insertGrant(grantRow('alice', 'gr_d2', 5n, { allowance_id: 'daily', period_start_ms: T0 })),
      ),
    ).rejects.toThrow();

    const subscription = {
      account_id: 'alice',
      plan_id: 'pro',
      status: 'active' as const,
      anchor_ms: T0,
      current_period_start_ms: T0,
      current_period_end_ms: T0 + 100,
      cancel_at_period_end: false,
      pending_plan_id: null,
      overrides: { allowances: { pro: '5000000' } },
      started_at_ms: T0,
      ended_at_ms: null,
      updated_at_ms: T0,
    };
    await store.transaction((tx) => tx.putSubscription(subscription));
    await store.transaction((tx) =>
      tx.putSubscription({ ...subscription, cancel_at_period_end: true, pending_plan_id: 'basic' }),
    );
    expect((await store.transaction((tx) => tx.openAccountForUpdate('alice', T0)))?.subscription).toEqual({
      ...subscription,
      cancel_at_period_end: true,
      pending_plan_id: 'basic',
    });
    expect(await store.read((tx) => tx.getSubscription('alice'))).toEqual({
      ...subscription,
      cancel_at_period_end: true,
      pending_plan_id: 'basic',
    });

    const limit = {
      account_id: 'alice',
      set_by: 'operator' as const,
      id: 'my_cap',
      window: 'day' as const,
      max_micros: 7n,
      kinds: ['free'],
      operations: null,
      member: null,
      project: 'p',
      api_key: 'key_1',
      updated_at_ms: T0,
    };
    await store.transaction((tx) => tx.putAccountLimit(limit));
    await store.transaction((tx) => tx.putAccountLimit({ ...limit, max_micros: 9n }));
    // The customer's limit of the same id is a record apart: it replaces nothing of the operator's.
    const customer = { ...limit, set_by: 'customer' as const, max_micros: 3n };
    await store.transaction((tx) => tx.putAccountLimit(customer));
    const both = [customer, { ...limit, max_micros: 9n }];
    expect(await store.read((tx) => tx.listAccountLimits('alice'))).toEqual(both);
    expect((await store.transaction((tx) => tx.openAccountForUpdate('alice', T0)))?.account_limits).toEqual(
      both,
    );
    // Removing the customer's leaves the operator's of the same id.
    await store.transaction((tx) => tx.deleteAccountLimit(customer));
    expect(await store.read((tx) => tx.listAccountLimits('alice'))).toEqual([{ ...limit, max_micros: 9n }]);
    await store.transaction((tx) => tx.putAccountLimit(customer));
    expect(await store.read((tx) => tx.getLimitReachedWindow('alice', 'my_cap'))).toBeUndefined();
    await store.transaction((tx) => tx.putLimitReachedWindow('alice', 'my_cap', T0));
    await store.transaction((tx) => tx.putLimitReachedWindow('alice', 'my_cap', T0 + 5));
    expect(await store.read((tx) => tx.getLimitReachedWindow('alice', 'my_cap'))).toBe(T0 + 5);
  });
}
