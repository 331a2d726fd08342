/** The store contract, the price book: versions stored once, the one in force. */
import { beforeEach, expect, it } from 'vitest';
import type { Store } from '../store.ts';

import { accountRow, T0 } from './fixtures.ts';

export function priceBookContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('stores price book versions once', async () => {
    const version = {
      version: 3,
      effective_at_ms: T0,
      document_json: '{"operations":{}}',
      created_at_ms: T0,
    };
    await store.transaction((tx) => tx.insertPriceVersion(version));
    expect(await store.read((tx) => tx.getPriceVersion(3))).toEqual(version);
    expect(await store.read((tx) => tx.getPriceVersion(4))).toBeUndefined();
    await expect(store.transaction((tx) => tx.insertPriceVersion(version))).rejects.toThrow();
  });

  it('finds the price version in force at an instant and the latest one', async () => {
    const version = (number: number, effective_at_ms: number) => ({
      version: number,
      effective_at_ms,
      document_json: `{"v":${number}}`,
      created_at_ms: T0,
    });
    expect(await store.read((tx) => tx.getLatestPriceVersion())).toBeUndefined();
    await store.transaction(async (tx) => {
      await tx.insertPriceVersion(version(1, T0));
      await tx.insertPriceVersion(version(2, T0 + 1_000));
      await tx.insertPriceVersion(version(3, T0 + 500));
    });
    expect((await store.read((tx) => tx.getPriceVersionInForce(T0 - 1)))?.version).toBeUndefined();
    expect((await store.read((tx) => tx.getPriceVersionInForce(T0 + 499)))?.version).toBe(1);
    expect((await store.read((tx) => tx.getPriceVersionInForce(T0 + 500)))?.version).toBe(3);
    expect((await store.read((tx) => tx.getPriceVersionInForce(T0 + 2_000)))?.version).toBe(3);
    expect((await store.read((tx) => tx.getLatestPriceVersion()))?.version).toBe(3);
    // Opening an account for a command finds the same version, in the same trip as the lock.
    await store.transaction((tx) => tx.insertAccount(accountRow('alice')));
    const in_force = (at_ms: number) =>
      store.transaction(
        async (tx) => (await tx.openAccountForUpdate('alice', at_ms))!.price_version_in_force,
      );
    expect(await in_force(T0 - 1)).toBeNull();
    expect(await in_force(T0 + 499)).toBe(1);
    expect(await in_force(T0 + 2_000)).toBe(3);
  });
}
