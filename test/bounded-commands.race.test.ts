/**
 * Commands bounded by an earlier fact (a refund by what is left of its charge, a revocation by
 * what is left of its grant) read that fact under the account's lock. Each is raced here on
 * both stores: parallel requests under different idempotency keys whose sum exceeds the bound.
 * (The same races across two PostgreSQL processes are in multi-process.test.ts.)
 */
import { describe, expect, inject, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { Store } from '../src/store/store.ts';
import { type Dialect, dialects } from './dialects.ts';
import { openTestTally, outcomes } from './helpers.ts';
import { createDatabase } from './postgres-server.ts';

async function storeOf(dialect: Dialect): Promise<Store | undefined> {
  if (dialect === 'sqlite') return undefined; // openTestTally's default: in-memory SQLite
  return PostgresStore.open({ url: await createDatabase(inject('postgres_url')) });
}

describe.each(dialects)('bounded commands raced on %s', (dialect) => {
  it('20 parallel refunds of 0.25 against a 1-credit charge: exactly 4 succeed, and the charge shows 1 refunded', async () => {
    const { tally } = await openTestTally({ store: await storeOf(dialect) });
    await tally.putAccount({ id: 'alice', kind: 'user' });
    await tally.issueGrant({ account: 'alice', kind: 'purchased', amount: '10' });
    const charge = await tally.charge({
      account: 'alice',
      operation: 'chat.fast',
      usage: { input_tokens: 1 },
    });
    expect(charge.credits).toBe('1');

    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) =>
        tally.refundCharge(
          { charge: charge.id, amount: '0.25', reason: 'race' },
          { idempotency_key: `refund-${index}` },
        ),
      ),
    );
    expect(counts).toEqual({ ok: 4, refund_exceeds_charge: 16 });
    expect(await tally.getCharge(charge.id)).toMatchObject({ refunded: '1' });
    expect((await tally.getBalance('alice')).available).toBe('10');
    expect(await tally.verify()).toMatchObject({ ok: true, problems: [] });
    await tally.close();
  });

  it('20 parallel revocations of one grant under different keys: one takes what is left, the others are refused', async () => {
    const { tally } = await openTestTally({ store: await storeOf(dialect) });
    await tally.putAccount({ id: 'bob', kind: 'user' });
    const grant = await tally.issueGrant({ account: 'bob', kind: 'bonus', amount: '10' });
    await tally.issueGrant({ account: 'bob', kind: 'purchased', amount: '5' });
    await tally.charge({ account: 'bob', operation: 'web.extract', usage: {} });

    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) =>
        tally.revokeGrant({ grant: grant.id, reason: 'race' }, { idempotency_key: `revoke-${index}` }),
      ),
    );
    expect(counts).toEqual({ ok: 1, grant_not_active: 19 });
    // 10 bonus − 8 spent = 2 revoked once; the 5 purchased stay.
    expect((await tally.getBalance('bob')).available).toBe('5');
    expect(await tally.verify()).toMatchObject({ ok: true, problems: [] });
    await tally.close();
  });
});
