/** The store contract, accounts: rows, search by prefix, due work, and the audit log. */
import { beforeEach, expect, it } from 'vitest';
import type { Store } from '../store.ts';

import { accountRow, grantRow, reservationRow, T0 } from './fixtures.ts';

export function accountsContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('creates, reads and updates accounts', async () => {
    await store.transaction((tx) => tx.insertAccount(accountRow('alice')));
    const read = await store.read((tx) => tx.getAccount('alice'));
    expect(read).toEqual(accountRow('alice'));
    await store.transaction((tx) =>
      tx.updateAccount({ ...accountRow('alice'), timezone: 'Asia/Tokyo', updated_at_ms: T0 + 1 }),
    );
    expect((await store.read((tx) => tx.getAccount('alice')))?.timezone).toBe('Asia/Tokyo');
    expect(await store.read((tx) => tx.getAccount('nobody'))).toBeUndefined();
    await store.transaction((tx) => tx.insertAccount(accountRow('bob')));
    expect(await store.read((tx) => tx.listAccountIds(null, 10))).toEqual(['alice', 'bob']);
    expect(await store.read((tx) => tx.listAccountIds('alice', 10))).toEqual(['bob']);
  });

  it('finds accounts with due work', async () => {
    await store.transaction(async (tx) => {
      await tx.insertAccount(accountRow('alice'));
      await tx.insertAccount(accountRow('bob'));
      await tx.insertAccount(accountRow('carol'));
      await tx.insertReservation(reservationRow('alice', 'rsv_1', { expires_at_ms: T0 + 1_000 }));
      await tx.insertGrant(grantRow('bob', 'gr_1', 5n, { expires_at_ms: T0 + 2_000 }));
      await tx.insertGrant(grantRow('carol', 'gr_2', 5n));
    });
    expect(await store.read((tx) => tx.listAccountsWithDueWork(T0 + 999, T0 + 999, 10))).toEqual([]);
    expect(await store.read((tx) => tx.listAccountsWithDueWork(T0 + 1_000, T0 + 1_000, 10))).toEqual([
      'alice',
    ]);
    expect(await store.read((tx) => tx.listAccountsWithDueWork(T0 + 2_000, T0 + 2_000, 10))).toEqual([
      'alice',
      'bob',
    ]);
    await store.transaction((tx) =>
      tx.updateAccount({ ...accountRow('carol'), schedule_due_at_ms: T0 + 500 }),
    );
    expect(await store.read((tx) => tx.listAccountsWithDueWork(T0 + 500, T0 + 500, 10))).toEqual(['carol']);
  });

  it('searches accounts by id prefix, keeps an audit log, and lists price versions', async () => {
    await store.transaction(async (tx) => {
      for (const id of ['acme_1', 'acme_2', 'acme%x', 'bob']) await tx.insertAccount(accountRow(id));
      await tx.insertAudit({
        id: 'aud_1',
        actor: 'key_1',
        action: 'issue_grant',
        account_id: 'bob',
        details: { amount: '5' },
        at_ms: T0,
      });
      await tx.insertAudit({
        id: 'aud_2',
        actor: 'key_1',
        action: 'revoke_grant',
        account_id: 'acme_1',
        details: {},
        at_ms: T0 + 1,
      });
      await tx.insertPriceVersion({
        version: 1,
        effective_at_ms: T0,
        document_json: '{}',
        created_at_ms: T0,
      });
    });
    const ids = (rows: { id: string }[]) => rows.map((row) => row.id);
    expect(ids(await store.read((tx) => tx.searchAccounts('acme', null, 10)))).toEqual([
      'acme%x',
      'acme_1',
      'acme_2',
    ]);
    expect(ids(await store.read((tx) => tx.searchAccounts('acme_', null, 10)))).toEqual(['acme_1', 'acme_2']);
    expect(ids(await store.read((tx) => tx.searchAccounts('acme%', null, 10)))).toEqual(['acme%x']);
    expect(ids(await store.read((tx) => tx.searchAccounts('', 'acme_2', 10)))).toEqual(['bob']);
    expect(ids(await store.read((tx) => tx.listAudit({}, 10)))).toEqual(['aud_2', 'aud_1']);
    expect(ids(await store.read((tx) => tx.listAudit({ account_id: 'bob' }, 10)))).toEqual(['aud_1']);
    expect(ids(await store.read((tx) => tx.listAudit({ before: 'aud_2' }, 10)))).toEqual(['aud_1']);
    expect((await store.read((tx) => tx.listAudit({}, 1)))[0]?.details).toEqual({});
    const versions = (page: { after_version: number; limit: number }) =>
      store.read(async (tx) => (await tx.listPriceVersions(page)).map((row) => row.version));
    expect(await versions({ after_version: 0, limit: 10 })).toEqual([1]);
    expect(await versions({ after_version: 1, limit: 10 })).toEqual([]);
  });
}
