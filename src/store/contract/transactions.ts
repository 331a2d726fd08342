/** The store contract, transactions: group commit, rollback, exact amounts, checked writes. */
import { beforeEach, expect, it } from 'vitest';
import { InvariantViolation } from '../../domain/assert.ts';
import { AMOUNT_MICROS_MAX } from '../../domain/limits.ts';
import type { Store } from '../store.ts';

import { accountRow, grantRow } from './fixtures.ts';

export function transactionsContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
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
}
