/** The store contract, runs: reservations, charges and refunds, and paging charges. */
import { beforeEach, expect, it } from 'vitest';
import type { ChargeFilter, ChargePage, ChargeRow, Store } from '../store.ts';

import { accountRow, reservationRow, T0 } from './fixtures.ts';

export function runsContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
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
      usage_source: 'reported' as const,
      creator: null,
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

  it("keeps what charges spent per quarter hour, scope and kind, in the charge's transaction", async () => {
    const quarter = 15 * 60_000;
    const charge = (id: string, at_ms: number, changes: Partial<ChargeRow> = {}): ChargeRow => ({
      account_id: 'alice',
      id,
      reservation_id: null,
      operation: 'chat',
      model: null,
      add_ons: [],
      member: null,
      api_key_id: null,
      usage: {},
      credits_micros: 3_000_000n,
      uncollected_micros: 0n,
      allocations: [
        { grant_id: 'gr_1', kind: 'bonus', amount_micros: 1_000_000n },
        { grant_id: 'gr_2', kind: 'bonus', amount_micros: 500_000n },
        { grant_id: 'gr_3', kind: 'paid', amount_micros: 1_500_000n },
      ],
      outcome: 'succeeded',
      price_version: 1,
      metadata: {},
      refunded_micros: 0n,
      usage_source: null,
      creator: null,
      created_at_ms: at_ms,
      ...changes,
    });
    await store.transaction(async (tx) => {
      await tx.insertAccount(accountRow('alice'));
      await tx.insertCharge(charge('ch_1', T0 + 1_000));
      await tx.insertCharge(charge('ch_2', T0 + quarter - 1));
      await tx.insertCharge(charge('ch_3', T0 + quarter, { member: 'm1', metadata: { project: 'p' } }));
      await tx.insertCharge(charge('ch_4', T0 + quarter + 5, { api_key_id: 'key_1', allocations: [] }));
    });
    const buckets = (from_ms: number) =>
      store.read(async (tx) =>
        (await tx.listSpendBuckets('alice', from_ms)).map(
          ({ start_ms, member, project, api_key_id, kind, spent_micros }) =>
            `${start_ms - T0}/${member}/${project}/${api_key_id}/${kind}=${spent_micros}`,
        ),
      );
    expect((await buckets(0)).sort()).toEqual([
      '0/null/null/null/bonus=3000000',
      '0/null/null/null/paid=3000000',
      `${quarter}/m1/p/null/bonus=1500000`,
      `${quarter}/m1/p/null/paid=1500000`,
    ]);
    expect((await buckets(T0 + 1)).sort()).toEqual([
      `${quarter}/m1/p/null/bonus=1500000`,
      `${quarter}/m1/p/null/paid=1500000`,
    ]);
    // Summed per scope and kind in the database, from a quarter hour on.
    const sums = (from_ms: number) =>
      store.read(async (tx) =>
        (await tx.sumSpendBuckets('alice', from_ms))
          .map(({ member, kind, spent_micros }) => `${member}/${kind}=${spent_micros}`)
          .sort(),
      );
    expect(await sums(0)).toEqual([
      'm1/bonus=1500000',
      'm1/paid=1500000',
      'null/bonus=3000000',
      'null/paid=3000000',
    ]);
    expect(await sums(T0 + quarter)).toEqual(['m1/bonus=1500000', 'm1/paid=1500000']);
    // A charge that rolls back takes its spend with it.
    await expect(
      store.transaction(async (tx) => {
        await tx.insertCharge(charge('ch_5', T0 + 2));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect((await buckets(0)).filter((bucket) => bucket.startsWith('0/'))).toContain(
      '0/null/null/null/bonus=3000000',
    );
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
        usage_source: null,
        creator: null,
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
}
