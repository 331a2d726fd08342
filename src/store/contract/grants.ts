/** The store contract, grants: paging in creation order and by state, open grants, the remaining bound. */
import { beforeEach, expect, it } from 'vitest';
import { InvariantViolation } from '../../domain/assert.ts';
import type { Store, StoreTransaction } from '../store.ts';

import { accountRow, grantRow, T0 } from './fixtures.ts';

export function grantsContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it("pages an account's grants in creation order, in a state at an instant", async () => {
    await store.transaction(async (tx) => {
      await tx.insertAccount(accountRow('alice'));
      await tx.insertGrant(grantRow('alice', 'gr_a', 1n, { created_at_ms: T0 }));
      await tx.insertGrant(
        grantRow('alice', 'gr_b', 1n, { created_at_ms: T0 + 1, effective_at_ms: T0 + 100 }),
      );
      await tx.insertGrant(grantRow('alice', 'gr_c', 1n, { created_at_ms: T0 + 2, expires_at_ms: T0 + 50 }));
      await tx.insertGrant(
        grantRow('alice', 'gr_d', 1n, { created_at_ms: T0 + 3, status: 'revoked', remaining_micros: 0n }),
      );
    });
    const ids = (page: Parameters<StoreTransaction['listGrantPage']>[1]) =>
      store.read(async (tx) => (await tx.listGrantPage('alice', page)).map((grant) => grant.id));
    const now_ms = T0 + 60;
    expect(await ids({ limit: 10, now_ms })).toEqual(['gr_a', 'gr_b', 'gr_c', 'gr_d']);
    expect(await ids({ limit: 2, now_ms, after: { created_at_ms: T0, id: 'gr_a' } })).toEqual([
      'gr_b',
      'gr_c',
    ]);
    expect(await ids({ limit: 10, now_ms, state: 'active' })).toEqual(['gr_a']);
    expect(await ids({ limit: 10, now_ms, state: 'pending' })).toEqual(['gr_b']);
    expect(await ids({ limit: 10, now_ms, state: 'expired' })).toEqual(['gr_c']);
    expect(await ids({ limit: 10, now_ms, state: 'revoked' })).toEqual(['gr_d']);
  });

  it('lists open grants and refuses a remaining outside 0..amount', async () => {
    await store.transaction(async (tx) => {
      await tx.insertAccount(accountRow('alice'));
      await tx.insertGrant(grantRow('alice', 'gr_1', 10n));
      await tx.insertGrant(
        grantRow('alice', 'gr_2', 20n, { status: 'expired', remaining_micros: 0n, closed_at_ms: T0 }),
      );
    });
    expect((await store.read((tx) => tx.listOpenGrants('alice'))).map((grant) => grant.id)).toEqual(['gr_1']);
    expect((await store.read((tx) => tx.listGrants('alice'))).map((grant) => grant.id)).toEqual([
      'gr_1',
      'gr_2',
    ]);
    // Opening the account for a command locks it and reads its open grants in the same trip.
    const opened = await store.transaction((tx) => tx.openAccountForUpdate('alice', T0));
    expect(opened?.account.id).toBe('alice');
    expect(opened?.open_grants).toEqual([grantRow('alice', 'gr_1', 10n)]);
    expect(opened?.subscription).toBeUndefined();
    // Values written into a batched query as literals stay values, whatever characters they hold.
    await store.transaction((tx) => tx.insertAccount(accountRow("o'brien; --")));
    expect((await store.transaction((tx) => tx.openAccountForUpdate("o'brien; --", T0)))?.account.id).toBe(
      "o'brien; --",
    );
    await expect(
      store.transaction((tx) => tx.updateGrant({ ...grantRow('alice', 'gr_1', 10n), remaining_micros: -1n })),
    ).rejects.toThrow();
    await expect(
      store.transaction((tx) => tx.updateGrant({ ...grantRow('alice', 'gr_1', 10n), remaining_micros: 11n })),
    ).rejects.toThrow();
    expect((await store.read((tx) => tx.getGrant('gr_1')))?.remaining_micros).toBe(10n);
    // Conditional moves: never below zero, never above the amount, never on a closed grant.
    const adjust = (id: string, delta_micros: bigint) =>
      store.transaction((tx) => tx.adjustGrantRemaining('alice', id, delta_micros));
    await adjust('gr_1', -4n);
    await expect(adjust('gr_1', -7n)).rejects.toThrow(InvariantViolation);
    await expect(adjust('gr_1', 5n)).rejects.toThrow(InvariantViolation);
    await adjust('gr_1', 4n);
    await expect(adjust('gr_2', 1n)).rejects.toThrow(InvariantViolation);
    expect((await store.read((tx) => tx.getGrant('gr_1')))?.remaining_micros).toBe(10n);
  });
}
