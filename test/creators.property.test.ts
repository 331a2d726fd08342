/**
 * Property test of creators' earnings (SPEC C10): random sequences of runs on creators' work
 * (cost and premium shares, self-runs), partial and full refunds, and payouts in money and as
 * credits. After every sequence the journal balances the three parties exactly — what users
 * were charged net of refunds equals the platform's revenue plus the creators' earnings still
 * owed plus what was paid out — and no payout ever took more than the creator had earned net of
 * reversals at that moment, nor was one refused that fitted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCredits, parseCredits } from '../src/domain/credits.ts';
import type { TallyError } from '../src/domain/results.ts';
import type { TallyConfigInput } from '../src/schema/config.ts';
import type { Tally } from '../src/service/tally.ts';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { openTestTally } from './helpers.ts';

const RUNS = 200;
const CONFIG: TallyConfigInput = {
  kinds: ['bonus', 'earnings'],
  creators: { payout_hold_days: 0, earnings_kind: 'earnings' },
  price_book: {
    operations: {
      // One micro-credit per unit: a run of N units costs N micro-credits before its premium.
      'prompt.run': { rates: { units: '0.000001' }, creator_share: { basis: 'cost', rate: '0.1' } },
      'app.run': { rates: { units: '0.000001' }, creator_share: { basis: 'premium', rate: '0.07' } },
    },
  },
};
const USERS = ['u1', 'u2', 'c1', 'c2'];
const CREATORS = ['c1', 'c2'];

type Step =
  | { kind: 'run'; user: string; creator: string; operation: 'prompt.run' | 'app.run'; units: number }
  | { kind: 'refund'; pick: number; part: number }
  | { kind: 'payout'; creator: string; amount: number; as: 'money' | 'credits' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('run' as const),
    user: fc.constantFrom(...USERS),
    creator: fc.constantFrom(...CREATORS),
    operation: fc.constantFrom('prompt.run' as const, 'app.run' as const),
    units: fc.integer({ min: 0, max: 5_000_000 }),
  }),
  fc.record({ kind: fc.constant('refund' as const), pick: fc.nat(), part: fc.integer({ min: 1, max: 3 }) }),
  fc.record({
    kind: fc.constant('payout' as const),
    creator: fc.constantFrom(...CREATORS),
    amount: fc.integer({ min: 1, max: 600_000 }),
    as: fc.constantFrom('money' as const, 'credits' as const),
  }),
);

/** Each book summed over every account's chain. */
async function bookTotals(tally: Tally): Promise<Map<string, bigint>> {
  return tally.store.read(async (transaction) => {
    const totals = new Map<string, bigint>();
    for (const account of await transaction.listAccountIds(null, 1_000)) {
      for (const posted of await transaction.listJournal(account, { after_sequence: 0, limit: 100_000 })) {
        for (const entry of posted.entries) {
          totals.set(entry.book, (totals.get(entry.book) ?? 0n) + entry.amount_micros);
        }
      }
    }
    return totals;
  });
}

describe('creators: the journal balances users, platform and creators', () => {
  it(`holds for ${RUNS} random sequences of runs, refunds and payouts`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const { tally, clock } = await openTestTally({ config: CONFIG });
        for (const id of USERS) {
          await tally.putAccount({ id, kind: 'user' });
          await tally.issueGrant({ account: id, kind: 'bonus', amount: '100' });
        }
        const charges: { id: string }[] = [];
        const paid = new Map<string, bigint>(CREATORS.map((id) => [id, 0n]));
        const netOf = async (creator: string) => {
          const statement = await tally.creatorEarnings({ creator });
          return micros(statement.net);
        };
        for (const next of steps) {
          clock.advanceSeconds(1);
          if (next.kind === 'run') {
            const charge = await tally.charge({
              account: next.user,
              operation: next.operation,
              usage: { units: next.units },
              creator: next.creator,
            });
            if (next.user === next.creator) expect(charge.creator).toBeNull();
            charges.push(charge);
          } else if (next.kind === 'refund' && charges.length > 0) {
            const charge = await tally.getCharge(charges[next.pick % charges.length]!.id);
            const left = micros(charge.credits) - micros(charge.refunded);
            if (left === 0n) continue;
            const amount = next.part === 3 ? left : (left + 1n) / 2n;
            await tally.refundCharge({
              charge: charge.id,
              amount: formatCredits(amount),
              reason: 'property',
            });
          } else if (next.kind === 'payout') {
            const amount = BigInt(next.amount);
            const payable = (await netOf(next.creator)) - paid.get(next.creator)!;
            const paying = tally.payout({
              creator: next.creator,
              amount: formatCredits(amount),
              as: next.as,
            });
            if (amount <= payable) {
              await paying;
              paid.set(next.creator, paid.get(next.creator)! + amount);
            } else {
              await expect(paying).rejects.toMatchObject({
                code: 'payout_exceeds_payable',
              } satisfies Partial<TallyError>);
            }
            // Never paid more than earned net of reversals, at the moment of paying.
            expect(paid.get(next.creator)! <= (await netOf(next.creator)) || amount > payable).toBe(true);
          }
        }

        const books = await bookTotals(tally);
        let charged = 0n;
        for (const { id } of charges) {
          const charge = await tally.getCharge(id);
          charged += micros(charge.credits) - micros(charge.refunded);
        }
        const paid_total = [...paid.values()].reduce((sum, amount) => sum + amount, 0n);
        const creators_owed = books.get('creator') ?? 0n;
        const platform = books.get('consumed') ?? 0n;
        // Users' net charges = the platform's revenue + what creators are owed + what they were paid.
        expect(platform + creators_owed + paid_total).toBe(charged);
        // What creators are owed is their net earnings less their payouts, creator by creator summed.
        let net_total = 0n;
        for (const creator of CREATORS) net_total += await netOf(creator);
        expect(creators_owed).toBe(net_total - paid_total);
        expect((books.get('payout') ?? 0n) <= paid_total).toBe(true);
        expect(await tally.verify()).toMatchObject({ ok: true, problems: [] });
        await tally.close();
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('tally verify finds a creator share edited outside the journal', async () => {
    const { tally } = await openTestTally({ config: CONFIG });
    for (const id of ['u1', 'c1']) await tally.putAccount({ id, kind: 'user' });
    await tally.issueGrant({ account: 'u1', kind: 'bonus', amount: '10' });
    await tally.charge({
      account: 'u1',
      operation: 'prompt.run',
      usage: { units: 2_000_000 },
      creator: 'c1',
    });
    expect(await tally.verify()).toMatchObject({ ok: true });
    (tally.store as SqliteStore).connection.exec('UPDATE charges SET creator_micros = creator_micros + 1');
    const report = await tally.verify();
    expect(report.problems).toEqual([
      expect.objectContaining({
        account: 'u1',
        check: 'creator',
        message: expect.stringMatching(/holds 200000 .* make 200001/),
      }),
    ]);
    await tally.close();
  });
});

/** Credits as answered (never negative here) → micro-credits, exactly. */
function micros(credits: string): bigint {
  const parsed = parseCredits(credits, { allow_zero: true });
  if (!parsed.ok) throw new Error(`not an amount: ${credits}`);
  return parsed.micros;
}
