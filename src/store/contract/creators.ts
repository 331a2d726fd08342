/** The store contract, creators: earnings read from the charges that name a creator; payouts. */
import { describe, expect, it } from 'vitest';
import type { ChargeRow, Store } from '../store.ts';
import { accountRow, T0 } from './fixtures.ts';

function chargeOn(id: string, creator: string | null, share: bigint, created_at_ms: number): ChargeRow {
  return {
    account_id: 'bob',
    id,
    reservation_id: null,
    operation: 'prompt.run',
    model: null,
    add_ons: [],
    member: null,
    api_key_id: null,
    usage: {},
    credits_micros: 50_000_000n,
    uncollected_micros: 0n,
    allocations: [],
    outcome: 'succeeded',
    price_version: 1,
    metadata: { prompt: 'haiku' },
    refunded_micros: 0n,
    usage_source: null,
    creator:
      creator === null
        ? null
        : { account_id: creator, basis: 'cost', share_micros: share, reversed_micros: 0n },
    created_at_ms,
  };
}

export function creatorsContract(store: () => Store): void {
  describe('creators', () => {
    it("reads a creator's charges and sums their share and reversals before an instant", async () => {
      await store().transaction(async (tx) => {
        for (const id of ['alice', 'bob', 'carol']) await tx.insertAccount(accountRow(id));
        await tx.insertCharge(chargeOn('ch_1', 'alice', 5_000_000n, T0));
        await tx.insertCharge(chargeOn('ch_2', 'alice', 3_000_000n, T0 + 1_000));
        await tx.insertCharge(chargeOn('ch_3', 'carol', 1_000_000n, T0 + 2_000));
        await tx.insertCharge(chargeOn('ch_4', null, 0n, T0 + 3_000));
      });
      const charge = (await store().read((tx) => tx.getCharge('ch_1')))!;
      expect(charge.creator).toEqual({
        account_id: 'alice',
        basis: 'cost',
        share_micros: 5_000_000n,
        reversed_micros: 0n,
      });
      await store().transaction((tx) =>
        tx.updateCharge({
          ...charge,
          refunded_micros: 10_000_000n,
          creator: { ...charge.creator!, reversed_micros: 1_000_000n },
        }),
      );
      // A reversal above the share breaks an invariant.
      await expect(
        store().transaction((tx) =>
          tx.updateCharge({ ...charge, creator: { ...charge.creator!, reversed_micros: 6_000_000n } }),
        ),
      ).rejects.toThrow();

      const read = await store().read(async (tx) => ({
        all: await tx.sumCreatorEarnings('alice', T0 + 10_000),
        before_second: await tx.sumCreatorEarnings('alice', T0 + 1_000),
        charges: (
          await tx.listCreatorCharges('alice', { from_ms: T0, to_ms: T0 + 10_000 }, { limit: 10 })
        ).map((row) => row.id),
        from_second: (
          await tx.listCreatorCharges('alice', { from_ms: T0 + 1, to_ms: T0 + 10_000 }, { limit: 10 })
        ).map((row) => row.id),
        after_first: (
          await tx.listCreatorCharges(
            'alice',
            { from_ms: T0, to_ms: T0 + 10_000 },
            { limit: 10, after: { created_at_ms: T0, id: 'ch_1' } },
          )
        ).map((row) => row.id),
        until_second: (
          await tx.listCreatorCharges('alice', { from_ms: T0, to_ms: T0 + 1_000 }, { limit: 10 })
        ).map((row) => row.id),
        creators: await tx.listCreators({ limit: 10 }),
        after_alice: await tx.listCreators({ after: 'alice', limit: 10 }),
      }));
      expect(read.all).toEqual({ share_micros: 8_000_000n, reversed_micros: 1_000_000n });
      expect(read.before_second).toEqual({ share_micros: 5_000_000n, reversed_micros: 1_000_000n });
      expect(read.charges).toEqual(['ch_1', 'ch_2']);
      expect(read.from_second).toEqual(['ch_2']);
      expect(read.after_first).toEqual(['ch_2']);
      expect(read.until_second).toEqual(['ch_1']);
      expect(read.creators).toEqual(['alice', 'carol']);
      expect(read.after_alice).toEqual(['carol']);
    });

    it('records payouts, newest first, and sums them', async () => {
      await store().transaction(async (tx) => {
        await tx.insertAccount(accountRow('alice'));
        for (const [index, amount] of [2_000_000n, 3_000_000n].entries()) {
          await tx.insertCreatorPayout({
            account_id: 'alice',
            id: `po_${index}`,
            amount_micros: amount,
            currency: 'USD',
            amount_minor: amount / 1_000_000n,
            paid_as: 'money',
            grant_id: null,
            reference: index === 0 ? 'wire 1' : null,
            earned_before_ms: T0,
            created_at_ms: T0 + index,
          });
        }
      });
      const read = await store().read(async (tx) => ({
        payouts: await tx.listCreatorPayouts('alice', 10),
        paid: await tx.sumCreatorPayouts('alice'),
        none: await tx.sumCreatorPayouts('bob'),
      }));
      expect(read.payouts.map((row) => [row.id, row.amount_micros, row.reference])).toEqual([
        ['po_1', 3_000_000n, null],
        ['po_0', 2_000_000n, 'wire 1'],
      ]);
      expect(read.paid).toBe(5_000_000n);
      expect(read.none).toBe(0n);
    });
  });
}
