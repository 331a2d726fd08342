import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { dialects } from '../../../test/dialects.ts';
import { openTestTally, refusal } from '../../../test/helpers.ts';
import { createDatabase } from '../../../test/postgres-server.ts';
import { InvariantViolation } from '../../domain/assert.ts';
import {
  ACCOUNT_A_INSERT,
  accountRow,
  bucketText,
  CHARGES_BEFORE_SPEND_BUCKETS,
  chargesBeforeSpendBuckets,
  describeStoreContract,
  grantRow,
  journalFromBeforeLinesMoved,
  RESERVATIONS_BEFORE_KEYED_BY_TIME,
  reservationsBeforeKeyedByTime,
} from '../store-contract.ts';
import { migrations } from './migrations.ts';
import { PostgresStore } from './postgres-store.ts';

const openStore = async () => PostgresStore.open({ url: await createDatabase(inject('postgres_url')) });

/** An engine on a fresh database, with alice holding 100 credits. */
async function engineWithAlice() {
  const store = await openStore();
  const { tally } = await openTestTally({ store });
  await tally.putAccount({ id: 'alice', kind: 'user' });
  await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '100' });
  return { store, tally };
}

/** A new database with the first `applied` migrations, account `a`, and a client on it. */
async function databaseAtMigration(applied: number): Promise<{ url: string; before: pg.Client }> {
  const url = await createDatabase(inject('postgres_url'));
  const before = new pg.Client({ connectionString: url });
  await before.connect();
  await before.query(
    'CREATE TABLE tally_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
  );
  for (let index = 0; index < applied; index++) {
    await before.query(migrations[index]!);
    await before.query('INSERT INTO tally_migrations (version) VALUES ($1)', [index + 1]);
  }
  await before.query(ACCOUNT_A_INSERT);
  return { url, before };
}

if (dialects.includes('postgres')) {
  describeStoreContract('postgres', openStore);

  describe('postgres store', () => {
    it('moves journal lines written before migration 11 into their transaction rows, and keeps them readable as journal_entries', async () => {
      const url = await createDatabase(inject('postgres_url'));
      const before = new pg.Client({ connectionString: url });
      await before.connect();
      await before.query(
        'CREATE TABLE tally_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      for (let index = 0; index < 10; index++) {
        await before.query(migrations[index]!);
        await before.query('INSERT INTO tally_migrations (version) VALUES ($1)', [index + 1]);
      }
      const { journal, transactions, lines } = journalFromBeforeLinesMoved();
      await before.query(
        "INSERT INTO accounts (id, kind, timezone, status, metadata_json, ledger_sequence, ledger_head_hash, created_at_ms, updated_at_ms) VALUES ('a', 'user', 'UTC', 'active', '{}', 2, $1, 0, 0)",
        [journal[1]!.hash],
      );
      for (const row of transactions)
        await before.query('INSERT INTO journal_transactions VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', row);
      for (const row of lines)
        await before.query('INSERT INTO journal_entries VALUES ($1, $2, $3, $4, $5, $6, $7)', row);
      await before.end();

      const store = await PostgresStore.open({ url });
      expect(await store.read((tx) => tx.listJournal('a', { after_sequence: 0, limit: 100 }))).toEqual(
        journal,
      );
      const after = new pg.Client({ connectionString: url });
      await after.connect();
      const view = await after.query({
        text: 'SELECT * FROM journal_entries ORDER BY transaction_sequence, line',
        rowMode: 'array',
      });
      await after.end();
      // pg returns BIGINTs as strings.
      expect(view.rows).toEqual(
        lines.map((row) =>
          row.map((value) => (typeof value === 'string' || value === null ? value : String(value))),
        ),
      );
      await store.close();
    });

    it('sums the charges written before migration 22 into spend buckets', async () => {
      const { url, before } = await databaseAtMigration(21);
      const { rows, buckets } = chargesBeforeSpendBuckets();
      const placeholders = rows[0]!.map((_, index) => `$${index + 1}`).join(', ');
      for (const row of rows)
        await before.query(
          `INSERT INTO charges (${CHARGES_BEFORE_SPEND_BUCKETS}) VALUES (${placeholders})`,
          row,
        );
      await before.end();
      const store = await PostgresStore.open({ url });
      expect((await store.read((tx) => tx.listSpendBuckets('a', 0))).map(bucketText).sort()).toEqual(buckets);
      await store.close();
    });

    it('keys charges and reservations by account, time and id from migration 23, each row kept as it was', async () => {
      const { url, before } = await databaseAtMigration(22);
      const insert = async (table: string, columns: string, rows: unknown[][]) => {
        const placeholders = rows[0]!.map((_, index) => `$${index + 1}`).join(', ');
        for (const row of rows)
          await before.query(`INSERT INTO ${table} (${columns}) VALUES (${placeholders})`, row);
      };
      await insert('charges', CHARGES_BEFORE_SPEND_BUCKETS, chargesBeforeSpendBuckets().rows);
      await insert('reservations', RESERVATIONS_BEFORE_KEYED_BY_TIME, reservationsBeforeKeyedByTime());
      const everything = async (client: pg.Client, table: string) =>
        (await client.query({ text: `SELECT * FROM ${table} ORDER BY id`, rowMode: 'array' })).rows;
      const charges = await everything(before, 'charges');
      const reservations = await everything(before, 'reservations');
      await before.end();
      const store = await PostgresStore.open({ url });
      const after = new pg.Client({ connectionString: url });
      await after.connect();
      expect(await everything(after, 'charges')).toEqual(charges);
      expect(await everything(after, 'reservations')).toEqual(reservations);
      const keyOf = async (table: string) =>
        (
          await after.query({
            text: `SELECT a.attname FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k (attnum, position)
                   JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attnum = k.attnum
                   WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.position`,
            values: [table],
          })
        ).rows.map((row: { attname: string }) => row.attname);
      expect(await keyOf('charges')).toEqual(['account_id', 'created_at_ms', 'id']);
      expect(await keyOf('reservations')).toEqual(['account_id', 'created_at_ms', 'id']);
      await after.end();
      const page = await store.read((tx) => tx.listReservationPage('a', { limit: 10 }));
      expect(page.map((row) => row.id)).toEqual(['rsv_a', 'rsv_b']);
      await store.close();
    });

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
        client.query(`UPDATE journal_transactions SET entries_json = '[["grant", "gr", null, "6"]]'`),
      ).rejects.toThrow(/append-only/);
      await expect(client.query('DELETE FROM journal_transactions')).rejects.toThrow(/append-only/);
      await client.end();
      expect(
        (await store.read((tx) => tx.listJournal('a', { after_sequence: 0, limit: 100 })))[0]?.entries[1]
          ?.amount_micros,
      ).toBe(5n);
      await store.close();
    });

    it('reserves and settles in one round trip each once the process knows the account, idempotency keys included', async () => {
      const { store, tally } = await engineWithAlice();
      const before = store.round_trips;
      const reservations = [];
      for (let run = 0; run < 10; run++) {
        const reservation = await tally.reserve(
          { account: 'alice', operation: 'web.extract' },
          { idempotency_key: `reserve-${run}` },
        );
        reservations.push(reservation);
        await tally.settle({ reservation: reservation.id, usage: {} }, { idempotency_key: `settle-${run}` });
      }
      expect(store.round_trips - before).toBe(20);
      expect(await tally.getBalance('alice')).toMatchObject({ available: '20', held: '0' });
      // A replay answers the first result: its claim of the key fails at commit, and the key is looked up.
      const first = await tally.reserve(
        { account: 'alice', operation: 'web.extract' },
        { idempotency_key: 'reserve-0' },
      );
      expect(first).toEqual(reservations[0]);
      expect(await tally.getBalance('alice')).toMatchObject({ available: '20', held: '0' });
      expect((await tally.verify()).ok).toBe(true);
      await tally.close();
    });

    it('never overspends when many commands of one process take turns on a remembered account', async () => {
      const { tally } = await engineWithAlice();
      await tally.reserve({ account: 'alice', operation: 'web.extract', max_credits: '1' });
      const answers = await Promise.all(
        Array.from({ length: 60 }, () =>
          tally.reserve({ account: 'alice', operation: 'web.extract', max_credits: '3' }).then(
            () => 'held',
            (error: { code?: string }) => error.code,
          ),
        ),
      );
      expect(answers.filter((answer) => answer === 'held')).toHaveLength(33);
      expect(answers.filter((answer) => answer === 'insufficient_credits')).toHaveLength(27);
      expect(await tally.getBalance('alice')).toMatchObject({ available: '0', held: '100' });
      expect((await tally.verify()).ok).toBe(true);
      await tally.close();
    });

    it('notices what another process changed on an account it remembers, before acting on it', async () => {
      const url = await createDatabase(inject('postgres_url'));
      const [here, there] = await Promise.all([1, 2].map(() => PostgresStore.open({ url })));
      const { tally } = await openTestTally({ store: here });
      const { tally: other } = await openTestTally({ store: there });
      await tally.putAccount({ id: 'alice', kind: 'user' });
      await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '20' });
      await tally.reserve({ account: 'alice', operation: 'web.extract' });
      // Remembered here: 12 credits left. Elsewhere, 10 of them are held.
      await other.reserve({ account: 'alice', operation: 'web.extract', max_credits: '10' });
      expect((await refusal(tally.reserve({ account: 'alice', operation: 'web.extract' }))).code).toBe(
        'insufficient_credits',
      );
      // Elsewhere, a new price book takes effect; remembered here, version 1 is in force.
      await tally.reserve({ account: 'alice', operation: 'web.extract', max_credits: '1' });
      await other.publishPriceBook({
        operations: { 'web.extract': { flat_credits: '1', max_credits: '1' } },
      });
      const repriced = await tally.reserve({ account: 'alice', operation: 'web.extract' });
      expect(repriced.price_version).toBe(2);
      expect(repriced.amount).toBe('1');
      expect(await tally.getBalance('alice')).toMatchObject({ available: '0', held: '20' });
      expect((await tally.verify()).ok).toBe(true);
      await Promise.all([tally.close(), other.close()]);
    });

    it('runs the commands of a group whose transaction failed again on their own', async () => {
      const store = await openStore();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, index) =>
          store.transaction(async (tx) => {
            await tx.insertAccount(accountRow(`acct_${index}`));
            // Checked only by the database, at COMMIT: the grant does not exist.
            if (index === 3) await tx.adjustGrantRemaining(`acct_${index}`, 'no_such_grant', -1n);
          }),
        ),
      );
      expect(results[3]).toMatchObject({ status: 'rejected', reason: expect.any(InvariantViolation) });
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(9);
      expect(await store.read((tx) => tx.listAccountIds(null, 50))).toHaveLength(9);
      await store.close();
    });

    it('applies concurrent commands on one remembered account in one transaction and one round trip', async () => {
      const { store, tally } = await engineWithAlice();
      await tally.reserve({ account: 'alice', operation: 'web.extract', max_credits: '1' });
      const before = store.round_trips;
      const held = await Promise.all(
        Array.from({ length: 30 }, () =>
          tally.reserve({ account: 'alice', operation: 'web.extract', max_credits: '3' }),
        ),
      );
      expect(held).toHaveLength(30);
      expect(store.round_trips - before).toBeLessThanOrEqual(2);
      expect(await tally.getBalance('alice')).toMatchObject({ available: '9', held: '91' });
      expect((await tally.verify()).ok).toBe(true);
      await tally.close();
    });

    it('sends a command that opens an account another group holds after that group, not into a deadlock', async () => {
      const store = await openStore();
      await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('x'));
        await tx.insertGrant(grantRow('x', 'g1', 5n));
      });
      let open!: () => void;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const first = store.transaction(async (tx) => {
        await tx.openAccountForUpdate('x', 0);
        open();
        await gate;
        await tx.insertGrant(grantRow('x', 'g2', 7n));
      });
      await opened;
      let attempts = 0;
      const second = store.transaction(async (tx) => {
        attempts++;
        return (await tx.openAccountForUpdate('x', 0))?.open_grants.map((grant) => grant.id);
      });
      while (attempts === 0) await new Promise((resolve) => setImmediate(resolve));
      release();
      await first;
      // It met the first group's turn, left its group, and ran again once the turn was over.
      expect(await second).toEqual(['g1', 'g2']);
      expect(attempts).toBe(2);
      await store.close();
    });

    it('drops a connection the server cut mid-transaction, and carries on with a new one', async () => {
      const url = await createDatabase(inject('postgres_url'));
      const store = await PostgresStore.open({ url, pool_size: 1 });
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await expect(
        store.transaction(async (tx) => {
          await tx.getAccount('nobody');
          await admin.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
          );
          await tx.getAccount('nobody');
        }),
      ).rejects.toThrow();
      await store.transaction((tx) => tx.insertAccount(accountRow('after')));
      expect(await store.read((tx) => tx.listAccountIds(null, 10))).toEqual(['after']);
      await admin.end();
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
