/** The store contract, the stored configuration: the last one kept, whole. */
import { beforeEach, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { T0 } from './fixtures.ts';

export function configurationContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('keeps the configuration last stored, document and source', async () => {
    expect(await store.read((tx) => tx.getStoredConfiguration())).toBeUndefined();
    const first = {
      document: { kinds: ['free'], price_book: { version: 1 } },
      source: 'a.yaml',
      stored_at_ms: T0,
    };
    await store.transaction((tx) => tx.putStoredConfiguration(first));
    expect(await store.read((tx) => tx.getStoredConfiguration())).toEqual(first);
    const second = { document: { kinds: ['bonus'] }, source: null, stored_at_ms: T0 + 1 };
    await store.transaction((tx) => tx.putStoredConfiguration(second));
    expect(await store.read((tx) => tx.getStoredConfiguration())).toEqual(second);
  });
}
