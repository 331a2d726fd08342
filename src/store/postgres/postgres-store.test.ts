import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { dialects } from '../../../test/dialects.ts';
import { createDatabase } from '../../../test/postgres-server.ts';
import { accountRow, describeStoreContract } from '../store-contract.ts';
import { PostgresStore } from './postgres-store.ts';

const openStore = async () => PostgresStore.open({ url: await createDatabase(inject('postgres_url')) });

if (dialects.includes('postgres')) {
  describeStoreContract('postgres', openStore);

  describe('postgres store', () => {
    it('refuses to edit or delete posted journal rows', async () => {
      const url = await createDatabase(inject('postgres_url'));
      const store = await PostgresStore.open({ url });
      await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('a'));
        await tx.appendJournal({
          id: 'jtx',
          account_id: 'a',
          sequence: 1,
          type: 'grant_issue',
          reference_id: 'gr',
          created_at_ms: 0,
          entries: [
            { book: 'issued', grant_id: 'gr', reservation_id: null, amount_micros: -5n },
            { book: 'grant', grant_id: 'gr', reservation_id: null, amount_micros: 5n },
          ],
          previous_hash: '0'.repeat(64),
          hash: 'h',
        });
      });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await expect(
        client.query('UPDATE journal_entries SET amount_micros = 6 WHERE line = 1'),
      ).rejects.toThrow(/append-only/);
      await expect(client.query('DELETE FROM journal_transactions')).rejects.toThrow(/append-only/);
      await client.end();
      expect((await store.read((tx) => tx.listJournal('a')))[0]?.entries[1]?.amount_micros).toBe(5n);
      await store.close();
    });

    it('migrates a database once, however many processes start on it at the same time', async () => {
      const url = await createDatabase(inject('postgres_url'));
      const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open({ url })));
      expect(await stores[0]!.read((tx) => tx.listAccountIds(null, 10))).toEqual([]);
      await Promise.all(stores.map((store) => store.close()));
    });
  });
}
