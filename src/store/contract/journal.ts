/** The store contract, the journal: each account's hash chain. */
import { beforeEach, expect, it } from 'vitest';
import { chainTransaction, GENESIS_HASH, move } from '../../domain/journal.ts';
import type { Store } from '../store.ts';

import { accountRow, grantRow, T0 } from './fixtures.ts';

export function journalContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('appends journal transactions onto the account chain and reads them back', async () => {
    await store.transaction((tx) => tx.insertAccount(accountRow('alice')));
    const first = chainTransaction(
      { sequence: 0, hash: GENESIS_HASH },
      {
        id: 'jtx_1',
        account_id: 'alice',
        type: 'grant_issue',
        reference_id: 'gr_1',
        created_at_ms: T0,
        entries: move('issued', 'grant', 7n, { grant_id: 'gr_1' }),
      },
    );
    await store.transaction(async (tx) => {
      await tx.insertGrant(grantRow('alice', 'gr_1', 7n));
      await tx.appendJournal(first);
    });
    expect(await store.read((tx) => tx.listJournal('alice', { after_sequence: 0, limit: 10 }))).toEqual([
      first,
    ]);
    expect(await store.read((tx) => tx.listJournal('alice', { after_sequence: 1, limit: 10 }))).toEqual([]);
    expect((await store.read((tx) => tx.getAccount('alice')))?.ledger).toEqual({
      sequence: 1,
      hash: first.hash,
    });
    // A transaction built on a stale head is refused: the chain cannot fork.
    await expect(
      store.transaction((tx) => tx.appendJournal({ ...first, id: 'jtx_again' })),
    ).rejects.toThrow();
  });
}
