import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
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
import { SqliteStore } from './sqlite-store.ts';

const directory = mkdtempSync(join(tmpdir(), 'tally-sqlite-'));
let files = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describeStoreContract('sqlite in memory', async () => new SqliteStore({ filename: ':memory:' }));
describeStoreContract(
  'sqlite file (WAL, separate read connection)',
  async () => new SqliteStore({ filename: join(directory, `contract-${files++}.db`) }),
);

/** Rows with their integers as numbers, to compare what SQLite returns as bigint with what was written. */
const plain = (rows: unknown[][]) =>
  rows.map((row) => row.map((value) => (typeof value === 'bigint' ? Number(value) : value)));

/** A database file with the first `applied` migrations, account `a`, and a connection to it. */
function databaseAtMigration(name: string, applied: number): { filename: string; before: Database.Database } {
  const filename = join(directory, name);
  const before = new Database(filename);
  for (let index = 0; index < applied; index++) before.exec(migrations[index]!);
  before.pragma(`user_version = ${applied}`);
  before.exec(ACCOUNT_A_INSERT);
  return { filename, before };
}

/** Inserts rows of the given columns into a table, one statement prepared for all. */
function insertRows(connection: Database.Database, table: string, columns: string, rows: unknown[][]): void {
  const statement = connection.prepare(
    `INSERT INTO ${table} (${columns}) VALUES (${rows[0]!.map(() => '?').join(', ')})`,
  );
  for (const row of rows) statement.run(...row);
}

describe('sqlite store', () => {
  it('reopens a file with its data and schema version intact', async () => {
    const filename = join(directory, 'reopen.db');
    const first = new SqliteStore({ filename });
    await first.transaction((tx) => tx.insertAccount(accountRow('alice')));
    await first.close();
    const second = new SqliteStore({ filename });
    expect((await second.read((tx) => tx.getAccount('alice')))?.id).toBe('alice');
    await second.close();
  });

  it('keeps the savepoints of a group commit in memory, not in a temporary file', async () => {
    const store = new SqliteStore({ filename: join(directory, 'temp-store.db') });
    expect(store.connection.pragma('temp_store', { simple: true })).toBe(2n);
    await store.close();
  });

  it('takes back a command of a group that failed after writing by running the group again, and one that failed before writing without', async () => {
    const store = new SqliteStore({ filename: join(directory, 'rerun.db') });
    const group = (fail: 'after writing' | 'before writing', prefix: string) =>
      Promise.allSettled(
        Array.from({ length: 5 }, (_, index) =>
          store.transaction(async (tx) => {
            if (index === 2 && fail === 'before writing') throw new Error('refused');
            await tx.insertAccount(accountRow(`${prefix}_${index}`));
            if (index === 2) throw new Error('refused');
            return index;
          }),
        ),
      );
    const outcomes = await group('after writing', 'after');
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(store.groups_rerun).toBe(1);
    await group('before writing', 'before');
    expect(store.groups_rerun).toBe(1);
    expect(await store.read((tx) => tx.listAccountIds(null, 100))).toEqual([
      'after_0',
      'after_1',
      'after_3',
      'after_4',
      'before_0',
      'before_1',
      'before_3',
      'before_4',
    ]);
    await store.close();
  });

  it('groups commands that arrive in separate event-loop callbacks, as HTTP requests do', async () => {
    const store = new SqliteStore({ filename: join(directory, 'callbacks.db') });
    const before = store.groups_committed;
    await Promise.all(
      Array.from(
        { length: 10 },
        (_, index) =>
          new Promise((resolve, reject) =>
            setImmediate(() => {
              store.transaction((tx) => tx.insertAccount(accountRow(`cb_${index}`))).then(resolve, reject);
            }),
          ),
      ),
    );
    expect(await store.read((tx) => tx.listAccountIds(null, 100))).toHaveLength(10);
    expect(store.groups_committed - before).toBe(1);
    await store.close();
  });

  it("keeps committing while an application's tests fake the timers", async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    vi.useFakeTimers();
    try {
      await store.transaction((tx) => tx.insertAccount(accountRow('faked')));
    } finally {
      vi.useRealTimers();
    }
    expect((await store.read((tx) => tx.getAccount('faked')))?.id).toBe('faked');
    await store.close();
  });

  it('moves journal lines written before migration 11 into their transaction rows, and keeps them readable as journal_entries', async () => {
    const filename = join(directory, 'lines-moved.db');
    const before = new Database(filename);
    before.defaultSafeIntegers(true);
    for (let index = 0; index < 10; index++) before.exec(migrations[index]!);
    before.pragma('user_version = 10');
    const { journal, transactions, lines } = journalFromBeforeLinesMoved();
    before
      .prepare(
        "INSERT INTO accounts (id, kind, timezone, status, metadata_json, ledger_sequence, ledger_head_hash, created_at_ms, updated_at_ms) VALUES ('a', 'user', 'UTC', 'active', '{}', 2, ?, 0, 0)",
      )
      .run(journal[1]!.hash);
    const transaction = before.prepare('INSERT INTO journal_transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const row of transactions) transaction.run(...row);
    const line = before.prepare('INSERT INTO journal_entries VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const row of lines) line.run(...row);
    before.close();

    const store = new SqliteStore({ filename });
    expect(await store.read((tx) => tx.listJournal('a', { after_sequence: 0, limit: 100 }))).toEqual(journal);
    const view = store.connection.prepare(
      'SELECT * FROM journal_entries ORDER BY transaction_sequence, line',
    );
    expect(plain(view.raw().all() as unknown[][])).toEqual(plain(lines));
    await store.close();
  });

  it('sums the charges written before migration 22 into spend buckets', async () => {
    const { filename, before } = databaseAtMigration('spend-buckets.db', 21);
    const { rows, buckets } = chargesBeforeSpendBuckets();
    insertRows(before, 'charges', CHARGES_BEFORE_SPEND_BUCKETS, rows);
    before.close();
    const store = new SqliteStore({ filename });
    expect((await store.read((tx) => tx.listSpendBuckets('a', 0))).map(bucketText).sort()).toEqual(buckets);
    await store.close();
  });

  it('keys charges and reservations by account, time and id from migration 23, each row kept as it was', async () => {
    const { filename, before } = databaseAtMigration('keyed-by-time.db', 22);
    insertRows(before, 'charges', CHARGES_BEFORE_SPEND_BUCKETS, chargesBeforeSpendBuckets().rows);
    insertRows(before, 'reservations', RESERVATIONS_BEFORE_KEYED_BY_TIME, reservationsBeforeKeyedByTime());
    const everything = (connection: Database.Database, table: string) =>
      plain(connection.prepare(`SELECT * FROM ${table} ORDER BY id`).raw().all() as unknown[][]);
    const charges = everything(before, 'charges');
    const reservations = everything(before, 'reservations');
    before.close();
    const store = new SqliteStore({ filename });
    expect(everything(store.connection, 'charges')).toEqual(charges);
    expect(everything(store.connection, 'reservations')).toEqual(reservations);
    const keyOf = (table: string) =>
      store.connection
        .prepare(
          "SELECT name FROM pragma_index_info((SELECT name FROM pragma_index_list(?) WHERE origin = 'pk'))",
        )
        .pluck()
        .all(table);
    expect(keyOf('charges')).toEqual(['account_id', 'created_at_ms', 'id']);
    expect(keyOf('reservations')).toEqual(['account_id', 'created_at_ms', 'id']);
    const page = await store.read((tx) => tx.listReservationPage('a', { limit: 10 }));
    expect(page.map((row) => row.id)).toEqual(['rsv_a', 'rsv_b']);
    await store.close();
  });

  it('refuses to edit or delete posted journal rows', async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    store.connection.exec(
      "INSERT INTO accounts (id, kind, timezone, status, metadata_json, ledger_sequence, ledger_head_hash, created_at_ms, updated_at_ms) VALUES ('a', 'user', 'UTC', 'active', '{}', 1, 'h', 0, 0);" +
        "INSERT INTO journal_transactions VALUES ('a', 1, 'jtx', 'grant_issue', 'gr', 0, 'p', 'h', '[]');",
    );
    expect(() => store.connection.exec("UPDATE journal_transactions SET hash = 'x'")).toThrow(/append-only/);
    expect(() => store.connection.exec("UPDATE journal_transactions SET entries_json = '[]'")).toThrow(
      /append-only/,
    );
    expect(() => store.connection.exec('DELETE FROM journal_transactions')).toThrow(/append-only/);
    await store.close();
  });

  it('opens a remembered account as it was left, and afresh once another connection has committed', async () => {
    const filename = join(directory, 'owned-memory.db');
    const mine = new SqliteStore({ filename });
    const now = Date.parse('2026-03-02T00:00:00Z');
    await mine.transaction(async (tx) => {
      await tx.insertAccount(accountRow('alice'));
      await tx.insertGrant(grantRow('alice', 'gr_first', 10n));
    });
    const grantsSeen = async (store: SqliteStore) =>
      store.transaction(async (tx) =>
        (await tx.openAccountForUpdate('alice', now))!.open_grants.map((grant) => grant.id),
      );
    expect(await grantsSeen(mine)).toEqual(['gr_first']);
    // Another process (here another connection) writes the account: the memory must not hide it.
    const theirs = new SqliteStore({ filename });
    await theirs.transaction((tx) => tx.insertGrant(grantRow('alice', 'gr_second', 5n)));
    expect(await grantsSeen(mine)).toEqual(['gr_first', 'gr_second']);
    // Raw SQL on the store's own connection (tools, tests) is not seen by data_version: the getter forgets.
    mine.connection.exec("UPDATE grants SET status = 'revoked', remaining_micros = 0 WHERE id = 'gr_first'");
    expect(await grantsSeen(mine)).toEqual(['gr_second']);
    await theirs.close();
    await mine.close();
  });

  it('answers a durable command only after its WAL is synced, and takes no write after a sync fails', async () => {
    const durable = new SqliteStore({ filename: join(directory, 'sync.db'), fsync: 'off-loop' });
    // SQLite itself does not sync at COMMIT: the store does, off the event loop.
    expect(durable.connection.pragma('synchronous', { simple: true })).toBe(1n);
    await durable.transaction((tx) => tx.insertAccount(accountRow('bob')));
    closeSync((durable as unknown as { wal: number }).wal);
    await expect(durable.transaction((tx) => tx.insertAccount(accountRow('carol')))).rejects.toThrow(
      /could not be synced/,
    );
    await expect(durable.transaction((tx) => tx.getAccount('bob'))).rejects.toThrow(/could not be synced/);
    // The default: SQLite syncs in its COMMIT.
    const in_commit = new SqliteStore({ filename: join(directory, 'sync-in-commit.db') });
    expect(in_commit.connection.pragma('synchronous', { simple: true })).toBe(2n);
    await in_commit.close();
  });
});
