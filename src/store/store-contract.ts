/**
 * The store contract: one suite every store adapter runs unchanged (STYLE rule 9). An adapter's
 * test file calls `describeStoreContract` with a factory that opens a fresh, empty store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvariantViolation } from '../domain/assert.ts';
import { chainTransaction, GENESIS_HASH, move } from '../domain/journal.ts';
import { AMOUNT_MICROS_MAX } from '../domain/limits.ts';
import {
  type AccountRow,
  type ChargeFilter,
  type ChargePage,
  type GrantRow,
  IdempotencyKeyTaken,
  type ReservationRow,
  type Store,
  type StoreTransaction,
} from './store.ts';

const T0 = Date.parse('2026-03-01T00:00:00Z');

export function accountRow(id: string): AccountRow {
  return {
    id,
    kind: 'user',
    timezone: 'UTC',
    status: 'active',
    metadata: { plan: 'free' },
    low_balance_threshold_micros: null,
    balance_alert: 'none',
    schedule_due_at_ms: null,
    ledger: { sequence: 0, hash: GENESIS_HASH },
    created_at_ms: T0,
    updated_at_ms: T0,
  };
}

export function grantRow(
  account_id: string,
  id: string,
  amount_micros: bigint,
  overrides: Partial<GrantRow> = {},
): GrantRow {
  return {
    account_id,
    id,
    kind: 'bonus',
    priority: 4,
    amount_micros,
    remaining_micros: amount_micros,
    effective_at_ms: T0,
    expires_at_ms: null,
    source: 'admin',
    reason: null,
    status: 'active',
    allowed_operations: null,
    refund_of_charge_id: null,
    metadata: {},
    created_at_ms: T0,
    closed_at_ms: null,
    closed_reason: null,
    expiring_notified: false,
    allowance_id: null,
    period_start_ms: null,
    requires_subscription: false,
    ...overrides,
  };
}

function reservationRow(
  account_id: string,
  id: string,
  overrides: Partial<ReservationRow> = {},
): ReservationRow {
  return {
    account_id,
    id,
    operation: 'chat.fast',
    model: 'small',
    add_ons: ['web_search'],
    member: null,
    api_key_id: null,
    status: 'held',
    amount_micros: 5_000_000n,
    price_version: 1,
    allocations: [{ grant_id: 'gr_1', kind: 'bonus', amount_micros: 5_000_000n }],
    usage: { input_tokens: '100' },
    metadata: { thread: 't1', tags: ['a'] },
    expires_at_ms: T0 + 300_000,
    created_at_ms: T0,
    resolved_at_ms: null,
    charge_id: null,
    ...overrides,
  };
}

/**
 * A journal as it stood before migration 11 moved each transaction's lines into its row: the
 * rows to write with raw SQL (`lines` into the journal_entries table of then), and the journal
 * the store must read back afterwards.
 */
export function journalFromBeforeLinesMoved() {
  const issue = chainTransaction(
    { sequence: 0, hash: GENESIS_HASH },
    {
      id: 'jtx_1',
      account_id: 'a',
      type: 'grant_issue',
      reference_id: 'gr_1',
      created_at_ms: 1_000,
      entries: move('issued', 'grant', 5_000_000n, { grant_id: 'gr_1' }),
    },
  );
  const reserve = chainTransaction(issue, {
    id: 'jtx_2',
    account_id: 'a',
    type: 'reserve',
    reference_id: 'rs_1',
    created_at_ms: 2_000,
    entries: move('grant', 'hold', 2_000_000n, { grant_id: 'gr_1', reservation_id: 'rs_1' }),
  });
  const journal = [issue, reserve];
  const transactions = journal.map((transaction) => [
    transaction.account_id,
    transaction.sequence,
    transaction.id,
    transaction.type,
    transaction.reference_id,
    transaction.created_at_ms,
    transaction.previous_hash,
    transaction.hash,
  ]);
  const lines = journal.flatMap((transaction) =>
    transaction.entries.map((entry, line) => [
      transaction.account_id,
      transaction.sequence,
      line,
      entry.book,
      entry.grant_id,
      entry.reservation_id,
      entry.amount_micros,
    ]),
  );
  return { journal, transactions, lines };
}

export function describeStoreContract(name: string, openStore: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('applies commands that arrive together in a group commit; a refused one is taken back alone', async () => {
      const before = store.groups_committed;
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) =>
          store.transaction(async (tx) => {
            await tx.insertAccount(accountRow(`acct_${String(index).padStart(2, '0')}`));
            if (index === 7) throw new Error('refused');
            return index;
          }),
        ),
      );
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(19);
      expect(results[7]).toMatchObject({ status: 'rejected', reason: new Error('refused') });
      const ids = await store.read((tx) => tx.listAccountIds(null, 50));
      expect(ids).toHaveLength(19);
      expect(ids).not.toContain('acct_07');
      // Twenty commands, far fewer commits.
      expect(store.groups_committed - before).toBeLessThanOrEqual(3);
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

    it('rolls back everything a failed transaction wrote', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.insertAccount(accountRow('alice'));
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await store.read((tx) => tx.getAccount('alice'))).toBeUndefined();
    });

    it('keeps micro-credit amounts exact up to the largest amount', async () => {
      await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('alice'));
        await tx.insertGrant(
          grantRow('alice', 'gr_big', AMOUNT_MICROS_MAX, { remaining_micros: AMOUNT_MICROS_MAX - 1n }),
        );
      });
      const grant = await store.read((tx) => tx.getGrant('gr_big'));
      expect(grant?.amount_micros).toBe(AMOUNT_MICROS_MAX);
      expect(grant?.remaining_micros).toBe(AMOUNT_MICROS_MAX - 1n);
    });

    it("pages an account's grants in creation order, in a state at an instant", async () => {
      await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('alice'));
        await tx.insertGrant(grantRow('alice', 'gr_a', 1n, { created_at_ms: T0 }));
        await tx.insertGrant(
          grantRow('alice', 'gr_b', 1n, { created_at_ms: T0 + 1, effective_at_ms: T0 + 100 }),
        );
        await tx.insertGrant(
          grantRow('alice', 'gr_c', 1n, { created_at_ms: T0 + 2, expires_at_ms: T0 + 50 }),
        );
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
      expect((await store.read((tx) => tx.listOpenGrants('alice'))).map((grant) => grant.id)).toEqual([
        'gr_1',
      ]);
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
        store.transaction((tx) =>
          tx.updateGrant({ ...grantRow('alice', 'gr_1', 10n), remaining_micros: -1n }),
        ),
      ).rejects.toThrow();
      await expect(
        store.transaction((tx) =>
          tx.updateGrant({ ...grantRow('alice', 'gr_1', 10n), remaining_micros: 11n }),
        ),
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

    it('fails a whole transaction when one write changes the wrong rows, and lets reads see its own writes', async () => {
      await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('alice'));
        await tx.insertGrant(grantRow('alice', 'gr_1', 10n));
      });
      // Where writes travel with a later round trip, the check runs in the database: still all or nothing.
      await expect(
        store.transaction(async (tx) => {
          await tx.insertAccount(accountRow('bob'));
          await tx.adjustGrantRemaining('alice', 'gr_1', -11n);
        }),
      ).rejects.toThrow(InvariantViolation);
      expect(await store.read((tx) => tx.getAccount('bob'))).toBeUndefined();
      const seen = await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('carol'));
        await tx.adjustGrantRemaining('alice', 'gr_1', -3n);
        return { carol: await tx.getAccount('carol'), grant: await tx.getGrant('gr_1') };
      });
      expect(seen.carol?.id).toBe('carol');
      expect(seen.grant?.remaining_micros).toBe(7n);
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

    it('stores reservations, charges and refunds', async () => {
      await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('alice'));
        await tx.insertReservation(reservationRow('alice', 'rsv_1'));
        await tx.insertReservation(reservationRow('alice', 'rsv_2', { expires_at_ms: T0 + 1_000 }));
      });
      expect(await store.read((tx) => tx.getReservation('rsv_1'))).toEqual(reservationRow('alice', 'rsv_1'));
      await store.transaction((tx) =>
        tx.updateReservation({
          ...reservationRow('alice', 'rsv_1'),
          status: 'settled',
          resolved_at_ms: T0 + 5,
          charge_id: 'ch_1',
        }),
      );
      expect((await store.read((tx) => tx.listHeldReservations('alice'))).map((row) => row.id)).toEqual([
        'rsv_2',
      ]);
      expect((await store.read((tx) => tx.listReservations('alice'))).map((row) => row.id)).toEqual([
        'rsv_1',
        'rsv_2',
      ]);
      // Paged in the store, newest first, from a (created_at_ms, id) position.
      const page = (limit: number, before?: { created_at_ms: number; id: string }) =>
        store.read(async (tx) =>
          (await tx.listReservationPage('alice', { limit, before })).map((row) => row.id),
        );
      expect(await page(1)).toEqual(['rsv_2']);
      const newest = (await store.read((tx) => tx.listReservationPage('alice', { limit: 1 })))[0]!;
      expect(await page(5, newest)).toEqual(['rsv_1']);
      expect(await page(5, { created_at_ms: 0, id: '' })).toEqual([]);
      // Opening the account for a command: only held reservations at or past their expiry are lapsed.
      const lapsed = (at_ms: number) =>
        store.transaction(async (tx) =>
          (await tx.openAccountForUpdate('alice', at_ms))!.lapsed_reservations.map((row) => row.id),
        );
      expect(await lapsed(T0 + 999)).toEqual([]);
      expect(await lapsed(T0 + 1_000)).toEqual(['rsv_2']);
      // The reservation a command works on comes with the lock; a lapsed one is the lapsed row itself.
      await store.transaction(async (tx) => {
        const opened = (await tx.openAccountForUpdate('alice', T0 + 1_000, 'rsv_2'))!;
        expect(opened.reservation?.id).toBe('rsv_2');
        expect(opened.reservation).toBe(opened.lapsed_reservations[0]);
        expect((await tx.openAccountForUpdate('alice', T0, 'rsv_1'))!.reservation?.status).toBe('settled');
        expect((await tx.openAccountForUpdate('alice', T0, 'rsv_none'))!.reservation).toBeUndefined();
        // Only the account's own: another account's reservation is not found through it.
        await tx.insertAccount(accountRow('bob'));
        expect((await tx.openAccountForUpdate('bob', T0, 'rsv_1'))!.reservation).toBeUndefined();
      });
      expect(await store.transaction((tx) => tx.openAccountForUpdate('nobody', T0))).toBeUndefined();

      const charge = {
        account_id: 'alice',
        id: 'ch_1',
        reservation_id: 'rsv_1',
        operation: 'chat.fast',
        model: null,
        add_ons: [],
        member: 'm1',
        api_key_id: null,
        usage: { output_tokens: '12.5' },
        credits_micros: 3_000_000n,
        uncollected_micros: 0n,
        allocations: [{ grant_id: 'gr_1', kind: 'bonus', amount_micros: 3_000_000n }],
        outcome: 'failed' as const,
        price_version: 1,
        metadata: { project: 'p' },
        refunded_micros: 0n,
        created_at_ms: T0,
      };
      await store.transaction((tx) => tx.insertCharge(charge));
      expect(await store.read((tx) => tx.getCharge('ch_1'))).toEqual(charge);
      await store.transaction(async (tx) => {
        await tx.updateCharge({ ...charge, refunded_micros: 1_000_000n });
        await tx.insertRefund({
          account_id: 'alice',
          id: 'rf_1',
          charge_id: 'ch_1',
          grant_id: 'gr_r',
          amount_micros: 1_000_000n,
          reason: 'loop',
          created_at_ms: T0,
        });
      });
      expect((await store.read((tx) => tx.getCharge('ch_1')))?.refunded_micros).toBe(1_000_000n);
      await store.transaction((tx) => tx.insertCharge({ ...charge, id: 'ch_2', created_at_ms: T0 + 10 }));
      await store.transaction((tx) => tx.insertCharge({ ...charge, id: 'ch_3', created_at_ms: T0 + 20 }));
      expect(
        (await store.read((tx) => tx.listRecentCharges('alice', T0 + 10, 10))).map((row) => row.id),
      ).toEqual(['ch_3', 'ch_2']);
      expect((await store.read((tx) => tx.listRecentCharges('alice', 0, 1))).map((row) => row.id)).toEqual([
        'ch_3',
      ]);
      await expect(
        store.transaction((tx) => tx.updateCharge({ ...charge, refunded_micros: 4_000_000n })),
      ).rejects.toThrow();
    });

    it("filters and pages an account's charges, newest first", async () => {
      await store.transaction(async (tx) => {
        await tx.insertAccount(accountRow('alice'));
        await tx.insertAccount(accountRow('bob'));
        const base = {
          reservation_id: null,
          model: null,
          add_ons: [],
          member: null,
          api_key_id: null,
          usage: {},
          credits_micros: 1n,
          uncollected_micros: 0n,
          allocations: [],
          price_version: 1,
          refunded_micros: 0n,
        };
        for (let index = 0; index < 5; index++) {
          await tx.insertCharge({
            ...base,
            account_id: 'alice',
            id: `ch_${index}`,
            operation: index % 2 ? 'image' : 'chat',
            outcome: index === 4 ? 'failed' : 'succeeded',
            metadata: { thread: index < 2 ? 't1' : 't2', project: 'p' },
            created_at_ms: T0 + (index < 3 ? index : 2) * 1_000,
          });
        }
        await tx.insertCharge({
          ...base,
          account_id: 'bob',
          id: 'ch_b',
          operation: 'chat',
          outcome: 'succeeded',
          metadata: {},
          created_at_ms: T0,
        });
      });
      const ids = async (filter: Partial<ChargeFilter>, page: Partial<ChargePage> = {}) =>
        (
          await store.read((tx) => tx.listCharges({ account_id: 'alice', ...filter }, { limit: 50, ...page }))
        ).map((row) => row.id);
      expect(await ids({})).toEqual(['ch_4', 'ch_3', 'ch_2', 'ch_1', 'ch_0']);
      expect(await ids({ operation: 'image' })).toEqual(['ch_3', 'ch_1']);
      expect(await ids({ thread: 't1' })).toEqual(['ch_1', 'ch_0']);
      expect(await ids({ outcome: 'failed' })).toEqual(['ch_4']);
      expect(await ids({ from_ms: T0 + 1_000, to_ms: T0 + 2_000 })).toEqual(['ch_1']);
      expect(await ids({ project: 'p', app: 'nope' })).toEqual([]);
      expect(await ids({}, { limit: 2 })).toEqual(['ch_4', 'ch_3']);
      expect(await ids({}, { limit: 2, after: { created_at_ms: T0 + 2_000, id: 'ch_3' } })).toEqual([
        'ch_2',
        'ch_1',
      ]);
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

    it('keeps one idempotency record per scope and key', async () => {
      const row = {
        scope: 'reserve',
        key: 'k1',
        request_hash: 'h',
        response_json: '{"id":"rsv_1"}',
        created_at_ms: T0,
      };
      await store.transaction((tx) => tx.insertIdempotency(row));
      expect(await store.read((tx) => tx.getIdempotency('reserve', 'k1'))).toEqual(row);
      expect(await store.read((tx) => tx.getIdempotency('settle', 'k1'))).toBeUndefined();
      await store.transaction((tx) => tx.insertIdempotency({ ...row, scope: 'settle' }));
      await expect(store.transaction((tx) => tx.insertIdempotency(row))).rejects.toBeInstanceOf(
        IdempotencyKeyTaken,
      );
    });

    it('records customer token revocations per account and per minting key, only ever moving them on', async () => {
      expect(await store.read((tx) => tx.customerTokenRevocations('alice', 'key_1'))).toEqual({
        account_ms: null,
        key_ms: null,
      });
      await store.transaction((tx) => tx.revokeCustomerTokens('account', 'alice', T0 + 10));
      await store.transaction((tx) => tx.revokeCustomerTokens('account', 'alice', T0 + 5));
      await store.transaction((tx) => tx.revokeCustomerTokens('key', 'key_1', T0 + 7));
      expect(await store.read((tx) => tx.customerTokenRevocations('alice', 'key_1'))).toEqual({
        account_ms: T0 + 10,
        key_ms: T0 + 7,
      });
      expect(await store.read((tx) => tx.customerTokenRevocations('bob', null))).toEqual({
        account_ms: null,
        key_ms: null,
      });
    });

    it('stores API keys by hash and revokes them', async () => {
      const key = {
        id: 'key_1',
        secret_hash: 'h1',
        secret_prefix: 'sk_live_ab',
        scope: 'write' as const,
        name: 'ci',
        created_at_ms: T0,
        revoked_at_ms: null,
      };
      await store.transaction((tx) => tx.insertApiKey(key));
      expect(await store.read((tx) => tx.getApiKeyByHash('h1'))).toEqual(key);
      expect(await store.read((tx) => tx.getApiKeyByHash('h2'))).toBeUndefined();
      expect(await store.transaction((tx) => tx.revokeApiKey('key_1', T0 + 5))).toBe('revoked');
      expect(await store.transaction((tx) => tx.revokeApiKey('key_1', T0 + 9))).toBe('already_revoked');
      expect(await store.transaction((tx) => tx.revokeApiKey('key_nope', T0 + 9))).toBe('not_found');
      expect(await store.read((tx) => tx.listApiKeys({ limit: 10 }))).toEqual([
        { ...key, revoked_at_ms: T0 + 5 },
      ]);
      await expect(store.transaction((tx) => tx.insertApiKey({ ...key, id: 'key_2' }))).rejects.toThrow();
      await store.transaction(async (tx) => {
        await tx.insertApiKey({ ...key, id: 'key_2', secret_hash: 'h2' });
        await tx.insertApiKey({ ...key, id: 'key_3', secret_hash: 'h3' });
      });
      const keyIds = async (page: { after?: string; limit: number }) =>
        (await store.read((tx) => tx.listApiKeys(page))).map((row) => row.id);
      expect(await keyIds({ limit: 2 })).toEqual(['key_1', 'key_2']);
      expect(await keyIds({ after: 'key_2', limit: 2 })).toEqual(['key_3']);
    });

    it('keeps events in an outbox and webhook deliveries with their attempts', async () => {
      const event = (account_id: string, id: string, type: string) => ({
        account_id,
        id,
        type,
        data: { n: id },
        created_at_ms: T0,
      });
      await store.transaction(async (tx) => {
        await tx.insertEvent(event('alice', 'evt_1', 'balance.low'));
        await tx.insertEvent(event('bob', 'evt_2', 'balance.low'));
        await tx.insertEvent(event('alice', 'evt_3', 'grant.expired'));
      });
      const ids = (rows: { id: string }[]) => rows.map((row) => row.id);
      expect(ids(await store.read((tx) => tx.listEvents({}, 10)))).toEqual(['evt_1', 'evt_2', 'evt_3']);
      expect(ids(await store.read((tx) => tx.listEvents({ account_id: 'alice' }, 10)))).toEqual([
        'evt_1',
        'evt_3',
      ]);
      expect(
        ids(await store.read((tx) => tx.listEvents({ type: 'balance.low', after: 'evt_1' }, 10))),
      ).toEqual(['evt_2']);
      expect(await store.read((tx) => tx.getEvent('evt_2'))).toEqual(event('bob', 'evt_2', 'balance.low'));
      await store.transaction((tx) => tx.markEventsDispatched(['evt_1', 'evt_2']));
      expect(ids(await store.read((tx) => tx.listUndispatchedEvents(10)))).toEqual(['evt_3']);

      const endpoint = {
        id: 'whe_1',
        url: 'http://127.0.0.1:1/x',
        event_types: ['*'],
        secret: 'whsec_x',
        created_at_ms: T0,
        disabled_at_ms: null,
      };
      const delivery = {
        id: 'whd_1',
        endpoint_id: 'whe_1',
        event_id: 'evt_1',
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at_ms: T0 + 5,
        created_at_ms: T0,
        completed_at_ms: null,
      };
      await store.transaction(async (tx) => {
        await tx.insertWebhookEndpoint(endpoint);
        await tx.insertWebhookDelivery(delivery);
      });
      expect(await store.read((tx) => tx.listWebhookEndpoints())).toEqual([endpoint]);
      expect(await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 4, 'a', T0 + 60, 10))).toEqual(
        [],
      );
      expect(await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 5, 'a', T0 + 60, 10))).toEqual(
        [delivery],
      );
      // Held by a's lease: nobody else gets it until the lease lapses.
      expect(
        await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 59, 'b', T0 + 120, 10)),
      ).toEqual([]);
      expect(
        await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 60, 'b', T0 + 120, 10)),
      ).toEqual([delivery]);
      // a's lease is lost: its outcome is not written; b's is.
      expect(
        await store.transaction((tx) => tx.completeWebhookDelivery({ ...delivery, status: 'failed' }, 'a')),
      ).toBe(false);
      await store.transaction(async (tx) => {
        await tx.insertWebhookAttempt({
          delivery_id: 'whd_1',
          attempt: 1,
          at_ms: T0 + 5,
          status_code: 500,
          error: 'HTTP 500',
          duration_ms: 3,
        });
        const done = { ...delivery, status: 'succeeded' as const, attempts: 1, completed_at_ms: T0 + 6 };
        expect(await tx.completeWebhookDelivery(done, 'b')).toBe(true);
      });
      expect(
        await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 1_000, 'c', T0 + 2_000, 10)),
      ).toEqual([]);
      expect((await store.read((tx) => tx.getWebhookDelivery('whd_1')))?.status).toBe('succeeded');
      expect(
        (await store.read((tx) => tx.listWebhookAttempts('whd_1'))).map((attempt) => attempt.status_code),
      ).toEqual([500]);
      await expect(
        store.transaction((tx) => tx.insertWebhookDelivery({ ...delivery, id: 'whd_2' })),
      ).rejects.toThrow();
      await store.transaction((tx) =>
        tx.insertWebhookDelivery({ ...delivery, id: 'whd_2', event_id: 'evt_2' }),
      );
      const deliveryIds = async (page: { before?: string; limit: number }) =>
        (await store.read((tx) => tx.listWebhookDeliveries('whe_1', page))).map((row) => row.id);
      expect(await deliveryIds({ limit: 1 })).toEqual(['whd_2']);
      expect(await deliveryIds({ before: 'whd_2', limit: 10 })).toEqual(['whd_1']);
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
      expect(await store.read((tx) => tx.getLimitReachedWindow('alice', 'my_cap'))).toBeUndefined();
      await store.transaction((tx) => tx.putLimitReachedWindow('alice', 'my_cap', T0));
      await store.transaction((tx) => tx.putLimitReachedWindow('alice', 'my_cap', T0 + 5));
      expect(await store.read((tx) => tx.getLimitReachedWindow('alice', 'my_cap'))).toBe(T0 + 5);
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
      expect(ids(await store.read((tx) => tx.searchAccounts('acme_', null, 10)))).toEqual([
        'acme_1',
        'acme_2',
      ]);
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

    it('keeps the first server secret of a name', async () => {
      expect(await store.transaction((tx) => tx.putServerSecretOnce('signing', 'a', T0))).toBe('a');
      expect(await store.transaction((tx) => tx.putServerSecretOnce('signing', 'b', T0))).toBe('a');
      expect(await store.read((tx) => tx.getServerSecret('signing'))).toBe('a');
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
  });
}
