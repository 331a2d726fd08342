import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../domain/calendar.ts';
import { sumEntries } from '../domain/journal.ts';
import { OPEN_GRANTS_PER_ACCOUNT_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import { compileConfig } from '../schema/config.ts';
import { accountRow, reservationRow } from '../store/contract/fixtures.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { StoreTransaction } from '../store/store.ts';
import { AccountSession, finishSessions, type SessionEnvironment } from './account-session.ts';
import { IdGenerator } from './ids.ts';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const config = compileConfig({
  kinds: ['bonus', 'promo'],
  events: { expiring_soon_days: 3 },
  price_book: { version: 1, effective_at: '2026-01-01T00:00:00Z', operations: { op: { flat_credits: '1' } } },
});
const environment = (now_ms: number): SessionEnvironment => ({
  ids: new IdGenerator(),
  now_ms,
  config,
  kind_priority: new Map([
    ['bonus', 0],
    ['promo', 1],
  ]),
});
const newGrant = (session: AccountSession, amount_micros: bigint, expires_at_ms: number | null = null) => ({
  id: session.newGrantId(),
  kind: 'bonus',
  priority: session.priorityOf('bonus'),
  amount_micros,
  effective_at_ms: session.now_ms,
  expires_at_ms,
  source: 'admin' as const,
  reason: null,
  allowed_operations: null,
  refund_of_charge_id: null,
  metadata: {},
  allowance_id: null,
  period_start_ms: null,
  requires_subscription: false,
});
const issued = { from: 'issued' as const, type: 'grant_issue' as const, reference_id: 'test' };

/** A store with alice on it, and a session helper that runs `work` in one transaction at `now_ms`. */
async function withAlice() {
  const store = new SqliteStore({ filename: ':memory:' });
  await store.transaction((transaction) => transaction.insertAccount(accountRow('alice')));
  const inSession = <Result>(
    now_ms: number,
    work: (session: AccountSession, transaction: StoreTransaction) => Promise<Result>,
  ) =>
    store.transaction(async (transaction) => {
      const session = await AccountSession.open(transaction, 'alice', environment(now_ms));
      const result = await work(session, transaction);
      await finishSessions(transaction);
      return result;
    });
  return { store, inSession };
}

describe('account session', () => {
  it('refuses an account that does not exist', async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    const opened = store.transaction((transaction) =>
      AccountSession.open(transaction, 'nobody', environment(T0)),
    );
    await expect(opened).rejects.toMatchObject({ code: 'account_not_found' });
    await store.close();
  });

  it('posts each movement as one balanced transaction on the chain, and skips one that moves nothing', async () => {
    const { store, inSession } = await withAlice();
    const ids = await inSession(T0, async (session) => {
      const grant = await session.issueGrant(newGrant(session, 7_000_000n), issued);
      const nothing = await session.post('grant_issue', 'nothing', [
        { book: 'issued', grant_id: grant.id, reservation_id: null, amount_micros: 0n },
      ]);
      return { grant: grant.id, nothing, usable: await session.usableMicros() };
    });
    expect(ids.nothing).toBeNull();
    expect(ids.usable).toBe(7_000_000n);
    const journal = await store.read((tx) => tx.listJournal('alice', { after_sequence: 0, limit: 10 }));
    expect(journal.map((entry) => [entry.sequence, sumEntries(entry.entries)])).toEqual([[1, 0n]]);
    expect((await store.read((tx) => tx.getAccount('alice')))?.ledger.hash).toBe(journal[0]!.hash);
    await store.close();
  });

  it('takes from grants and gives back to the book that closed a grant meanwhile', async () => {
    const { store, inSession } = await withAlice();
    await inSession(T0, async (session, transaction) => {
      const grant = await session.issueGrant(newGrant(session, 10_000_000n), issued);
      const taken = await session.takeFromGrants(
        [{ grant_id: grant.id, kind: 'bonus', amount_micros: 4_000_000n }],
        'hold',
        'rsv_1',
      );
      expect(sumEntries(taken)).toBe(0n);
      expect((await transaction.getGrant(grant.id))?.remaining_micros).toBe(6_000_000n);
      await session.closeGrant(grant, 'revoked', T0, 'test');
      const back = await session.returnToGrants(
        [{ grant_id: grant.id, kind: 'bonus', amount_micros: 4_000_000n }],
        'rsv_1',
      );
      // The revoked grant takes nothing back: the held credits go to `revoked`.
      expect(back.map((entry) => [entry.book, entry.amount_micros])).toEqual([
        ['hold', -4_000_000n],
        ['revoked', 4_000_000n],
      ]);
    });
    await store.close();
  });

  it('books what fell due when it opens: lapsed reservations, expired grants, expiring-soon notices', async () => {
    const { store, inSession } = await withAlice();
    const grants = await inSession(T0, async (session, transaction) => {
      const ending = await session.issueGrant(newGrant(session, 5_000_000n, T0 + DAY_MS), issued);
      const soon = await session.issueGrant(newGrant(session, 5_000_000n, T0 + 4 * DAY_MS), issued);
      // A one-minute hold of 1 credit on the grant that expires soon.
      const allocations = [{ grant_id: soon.id, kind: 'bonus', amount_micros: 1_000_000n }];
      await session.post('reserve', 'rsv_1', await session.takeFromGrants(allocations, 'hold', 'rsv_1'));
      await transaction.insertReservation({
        ...reservationRow('alice', 'rsv_1'),
        amount_micros: 1_000_000n,
        allocations,
        expires_at_ms: T0 + 60_000,
      });
      return { ending: ending.id, soon: soon.id };
    });
    const booked = await inSession(T0 + 2 * DAY_MS, async (session) => session.booked_on_open);
    expect(booked).toEqual({ reservations_expired: 1, grants_expired: 1, grants_announced: 1 });
    const events = await store.read((tx) => tx.listEvents({ account_id: 'alice' }, 10));
    expect(events.map((event) => event.type)).toEqual([
      'reservation.expired',
      'grant.expired',
      'grant.expiring_soon',
    ]);
    expect((await store.read((tx) => tx.getGrant(grants.ending)))?.status).toBe('expired');
    // The lapsed hold came back to its grant, which is announced with all 5 credits.
    expect((await store.read((tx) => tx.getGrant(grants.soon)))?.remaining_micros).toBe(5_000_000n);
    // Announced once: a later session books nothing more.
    expect(await inSession(T0 + 2 * DAY_MS + 1, async (session) => session.booked_on_open)).toEqual({
      reservations_expired: 0,
      grants_expired: 0,
      grants_announced: 0,
    });
    await store.close();
  });

  it('raises balance.low once per crossing when the transaction finishes', async () => {
    const { store, inSession } = await withAlice();
    await store.transaction(async (tx) => {
      const account = (await tx.getAccount('alice'))!;
      await tx.updateAccount({ ...account, low_balance_threshold_micros: 5_000_000n });
    });
    const grant = await inSession(T0, async (session) => {
      const row = await session.issueGrant(newGrant(session, 10_000_000n), issued);
      await session.startAlertQuietly();
      return row.id;
    });
    const spend = (amount_micros: bigint) =>
      inSession(T0, async (session) => {
        const entries = await session.takeFromGrants(
          [{ grant_id: grant, kind: 'bonus', amount_micros }],
          'consumed',
          null,
        );
        await session.post('charge', 'ch_test', entries);
      });
    await spend(6_000_000n);
    await spend(1_000_000n);
    const types = (await store.read((tx) => tx.listEvents({ account_id: 'alice' }, 10))).map(
      (event) => event.type,
    );
    expect(types).toEqual(['balance.low']);
    await store.close();
  });

  it('refuses a grant past the open-grant bound with a stable code', async () => {
    const { store, inSession } = await withAlice();
    const refused = inSession(T0, async (session) => {
      for (let index = 0; index <= OPEN_GRANTS_PER_ACCOUNT_MAX; index++)
        await session.issueGrant(newGrant(session, 1n), issued);
    });
    await expect(refused).rejects.toBeInstanceOf(TallyError);
    await expect(refused).rejects.toMatchObject({ code: 'grant_limit_reached' });
    // The transaction rolled back whole: no grant is left.
    expect(await store.read((tx) => tx.listOpenGrants('alice'))).toEqual([]);
    await store.close();
  });
});
