import { describe, expect, inject, it } from 'vitest';
import { dialects } from '../../test/dialects.ts';
import { openTestTally } from '../../test/helpers.ts';
import { createDatabase } from '../../test/postgres-server.ts';
import { InvariantViolation } from '../domain/assert.ts';
import { TallyError } from '../domain/results.ts';
import { PostgresStore } from './postgres/postgres-store.ts';
import { checkingReplays } from './replay-check.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';
import { accountRow } from './store-contract.ts';

const stores: Record<string, () => Promise<Store>> = {
  sqlite: async () => new SqliteStore({ filename: ':memory:' }),
  postgres: async () => PostgresStore.open({ url: await createDatabase(inject('postgres_url')) }),
};

describe.each(dialects)('every command run twice writes the same (%s)', (dialect) => {
  it('holds for each kind of command the engine runs, refusals included', async () => {
    const store = checkingReplays(await stores[dialect]!());
    const { tally, clock } = await openTestTally({ store });
    const key = { idempotency_key: 'k1' };
    await tally.putAccount({ id: 'alice', kind: 'user', timezone: 'Asia/Kolkata' });
    const grant = await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '100' }, key);
    await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '100' }, key);
    await tally.putLimit({ account: 'alice', id: 'daily', window: 'day', max: '50' });
    const reservation = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '5' });
    const charge = await tally.settle({ reservation: reservation.id, usage: { input_tokens: 100 } });
    await tally.charge({ account: 'alice', operation: 'web.extract', usage: {} });
    await tally.refundCharge({ charge: charge.id, amount: '0.5', reason: 'replay check' });
    const held = await tally.reserve({ account: 'alice', operation: 'web.extract' });
    await tally.release({ reservation: held.id });
    // Refused alike both times: over the daily limit.
    await expect(
      tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '60' }),
    ).rejects.toBeInstanceOf(TallyError);
    await tally.access.createKey({ scope: 'read', name: 'replayed' });
    clock.advanceSeconds(86_400 * 40);
    await tally.bookDueWork();
    await tally.revokeGrant({ grant: grant.id, reason: 'replay check' });
    expect(store.replays_checked).toBeGreaterThan(12);
    expect((await tally.verify()).ok).toBe(true);
    await tally.close();
  });

  it('holds for purchases: payment, a confirmation repeated, refunds with clawback and debt, auto-recharge', async () => {
    const store = checkingReplays(await stores[dialect]!());
    const { tally } = await openTestTally({
      store,
      config: {
        packs: [
          { id: 'small', credits: 100, price: { USD: '1.00' }, bonus: { credits: 10 } },
          { id: 'owed', credits: 100, price: { USD: '1.00' }, refund_policy: 'debt' },
        ],
        payments: { provider: 'test', providers: ['test', 'manual'] },
        price_book: { operations: { run: { rates: { credits: '1' } } } },
      },
    });
    await tally.putAccount({ id: 'buyer', kind: 'user' });
    // Confirmed before its checkout is recorded. (Not `twice`: its two deliveries run at once, and
    // one may commit between the other's rehearsal and its run, which this check cannot tell apart.)
    const paid = await tally.purchase({ account: 'buyer', pack: 'small', test_card: 'out_of_order' });
    await tally.charge({ account: 'buyer', operation: 'run', usage: { credits: 30 } });
    await tally.refundPurchase({ purchase: paid.id, amount: '0.50', reason: 'replay check' });
    const owed = await tally.purchase({ account: 'buyer', pack: 'owed', provider: 'manual' });
    await tally.payments.confirm(owed.id, 'INV-1');
    await tally.payments.confirm(owed.id, 'INV-1');
    await tally.charge({ account: 'buyer', operation: 'run', usage: { credits: 120 } });
    await tally.refundPurchase({ purchase: owed.id, reason: 'replay check' });
    await tally.setAutoRecharge({
      account: 'buyer',
      enabled: true,
      threshold: 50,
      pack: 'small',
      monthly_max: 220,
    });
    await tally.payments.processDue();
    await tally.purchase({ account: 'buyer', pack: 'small', test_card: 'decline' });
    expect(store.replays_checked).toBeGreaterThan(12);
    expect((await tally.verify()).ok).toBe(true);
    await tally.close();
  });

  it('holds for creators, teams and custom plans: shares, reversals, payouts, members, overrides', async () => {
    const store = checkingReplays(await stores[dialect]!());
    const { tally, clock } = await openTestTally({
      store,
      config: {
        kinds: ['bonus', 'earnings'],
        creators: { payout_hold_days: 1, earnings_kind: 'earnings' },
        plans: {
          pro: {
            price: { currency: 'USD', amount_minor: 1000 },
            rank: 1,
            allowances: [{ id: 'pro', kind: 'bonus', amount: 100, period: 'billing_cycle' }],
          },
        },
        price_book: {
          operations: {
            prompt: { rates: { credits: '1' }, creator_share: { basis: 'premium', rate: '0.1' } },
          },
        },
      },
    });
    for (const [id, kind] of [
      ['team', 'team'],
      ['ann', 'user'],
      ['author', 'user'],
    ] as const) {
      await tally.putAccount({ id, kind });
    }
    await tally.issueGrant({ account: 'team', kind: 'bonus', amount: '100' });
    await tally.putMember({ team: 'team', member: 'ann', role: 'owner', limits: { day: '50' } });
    await tally.putLimit({ account: 'team', id: 'each', window: 'month', max: '80', each_member: true });
    const reservation = await tally.reserve({
      account: 'team',
      member: 'ann',
      operation: 'prompt',
      max_credits: '20',
      creator: 'author',
    });
    const settled = await tally.settle({ reservation: reservation.id, usage: { credits: 10 } });
    await tally.charge({
      account: 'team',
      member: 'ann',
      operation: 'prompt',
      usage: { credits: 5 },
      creator: 'author',
    });
    await tally.refundCharge({ charge: settled.id, amount: '5.5', reason: 'replay check' });
    clock.advanceSeconds(2 * 86_400);
    await tally.payout({ creator: 'author', amount: '0.5' });
    await tally.payout({ creator: 'author', amount: '0.1', as: 'credits' });
    await expect(tally.payout({ creator: 'author', amount: '100' })).rejects.toBeInstanceOf(TallyError);
    await tally.subscribe({ account: 'ann', plan: 'pro' });
    await tally.putPlanOverrides({ account: 'ann', allowances: { pro: '150' }, prices: { prompt: '0.5' } });
    await tally.putAccount({ id: 'ben', kind: 'user' });
    await tally.putMember({ team: 'team', member: 'ben', role: 'owner' });
    await tally.removeMember('team', 'ann');
    expect(store.replays_checked).toBeGreaterThan(12);
    expect((await tally.verify()).ok).toBe(true);
    await tally.close();
  });

  it('catches work that depends on something outside its transaction', async () => {
    const store = checkingReplays(await stores[dialect]!());
    let runs = 0;
    // A counter kept outside the transaction: the second run writes another creation time.
    const outside = store.transaction(async (transaction) => {
      runs++;
      await transaction.insertAccount({ ...accountRow('alice'), created_at_ms: runs });
    });
    await expect(outside).rejects.toBeInstanceOf(InvariantViolation);
    // Rehearsed, then run; SQLite runs the rehearsal's group once more to take back what it wrote.
    expect(runs).toBe(dialect === 'sqlite' ? 3 : 2);
    await store.close();
  });
});
