/** The store contract, support: compensations by account, incidents by the time they overlap. */
import { describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { accountRow, T0 } from './fixtures.ts';

export function supportContract(store: () => Store): void {
  describe('support', () => {
    it('keeps compensations with their parts, and finds incidents overlapping a range', async () => {
      const compensation = {
        account_id: 'alice',
        id: 'cmp_1',
        grant_id: 'gr_1',
        amount_micros: 7_000_000n,
        parts: [
          { charge_id: 'ch_1', amount_micros: 5_000_000n },
          { charge_id: 'ch_2', amount_micros: 2_000_000n },
        ],
        reason: 'retry loop',
        created_at_ms: T0,
      };
      await store().transaction(async (tx) => {
        await tx.insertAccount(accountRow('alice'));
        await tx.insertCompensation(compensation);
        await tx.insertCompensation({ ...compensation, id: 'cmp_2', parts: [], created_at_ms: T0 + 1 });
        await tx.insertIncident({
          id: 'inc_1',
          from_ms: T0,
          to_ms: T0 + 100,
          operations: ['chat'],
          note: 'outage',
          created_at_ms: T0,
        });
        await tx.insertIncident({
          id: 'inc_2',
          from_ms: T0 + 200,
          to_ms: T0 + 300,
          operations: null,
          note: 'slow',
          created_at_ms: T0,
        });
      });
      const read = await store().read(async (tx) => ({
        compensations: await tx.listCompensations('alice'),
        none: await tx.listCompensations('bob'),
        first: (await tx.listIncidents({ from_ms: T0 + 50, to_ms: T0 + 150 })).map((row) => row.id),
        both: await tx.listIncidents({ from_ms: T0 - 10, to_ms: T0 + 1_000 }),
        between: await tx.listIncidents({ from_ms: T0 + 100, to_ms: T0 + 200 }),
      }));
      expect(read.compensations).toEqual([
        compensation,
        { ...compensation, id: 'cmp_2', parts: [], created_at_ms: T0 + 1 },
      ]);
      expect(read.none).toEqual([]);
      expect(read.first).toEqual(['inc_1']);
      expect(read.both.map((row) => [row.id, row.operations])).toEqual([
        ['inc_1', ['chat']],
        ['inc_2', null],
      ]);
      expect(read.between).toEqual([]);
    });
  });
}
