/**
 * Property: what a limit reports used — summed from the quarter-hour spend buckets, with the
 * charges of a window's partial first quarter — is exactly what summing every charge in its
 * window gives (the way limits were measured before the buckets), for day, week, month, rolling
 * and billing-cycle windows, in timezones whose midnight is on the half and three-quarter hour,
 * across operations, projects and kinds. A failure prints a seed and path to replay
 * (TALLY_PROPERTY_SEED / TALLY_PROPERTY_PATH).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { formatCredits } from '../src/domain/credits.ts';
import { limitWindow, spentUnder } from '../src/domain/spending.ts';
import type { TallyConfigInput } from '../src/schema/config.ts';
import { spendRecord } from '../src/service/limits.ts';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { openTestTally } from './helpers.ts';

const RUNS = 150;
const CONFIG: TallyConfigInput = {
  allowances: [{ id: 'daily', kind: 'free', amount: 40, period: 'daily' }],
  limits: [
    { id: 'free_day', window: 'day', max: 30, kinds: ['free'] },
    { id: 'week', window: 'week', max: 400 },
    { id: 'month', window: 'month', max: 1_500 },
    { id: 'rolling', window: 'rolling_24h', max: 200 },
    { id: 'cycle', window: 'billing_cycle', max: 1_000 },
    { id: 'chat_day', window: 'day', max: 50, operations: ['chat'] },
    { id: 'project_rolling', window: 'rolling_24h', max: 60, project: 'p1' },
  ],
  price_book: {
    operations: { run: { rates: { credits: '1' } }, chat: { rates: { credits: '0.5' } } },
  },
};

type Step =
  | { type: 'advance'; seconds: number }
  | { type: 'charge'; operation: 'run' | 'chat'; project: string | null; credits: number }
  | { type: 'reserve'; credits: number; settle: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: 1, max: 2 * 86_400 })
      .map((seconds) => ({ type: 'advance' as const, seconds })),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom('run' as const, 'chat' as const),
        fc.constantFrom('p1', 'p2', null),
        fc.integer({ min: 1, max: 25 }),
      )
      .map(([operation, project, credits]) => ({ type: 'charge' as const, operation, project, credits })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 20 }), fc.boolean())
      .map(([credits, settle]) => ({ type: 'reserve' as const, credits, settle })),
  },
);

it(`measures every limit from spend buckets exactly as from its window's charges (${RUNS} runs)`, async () => {
  const seed = process.env.TALLY_PROPERTY_SEED;
  const path = process.env.TALLY_PROPERTY_PATH;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/St_Johns', 'Pacific/Chatham'),
      fc.array(step, { minLength: 5, maxLength: 40 }),
      async (timezone, steps) => {
        const { tally, clock } = await openTestTally({ config: CONFIG, start: '2027-03-01T17:07:13Z' });
        try {
          await tally.putAccount({ id: 'u', kind: 'user', timezone });
          await tally.issueGrant({ account: 'u', kind: 'bonus', amount: '100000' });
          const refused = () => undefined;
          for (const next of steps) {
            if (next.type === 'advance') clock.advanceSeconds(next.seconds);
            else if (next.type === 'charge') {
              const metadata = next.project === null ? undefined : { project: next.project };
              await tally
                .charge({
                  account: 'u',
                  operation: next.operation,
                  usage: { credits: next.credits },
                  metadata,
                })
                .catch(refused);
            } else {
              const reservation = await tally
                .reserve({ account: 'u', operation: 'run', max_credits: String(next.credits) })
                .catch(refused);
              if (reservation && next.settle)
                await tally
                  .settle({ reservation: reservation.id, usage: { credits: next.credits - 1 } })
                  .catch(refused);
            }
            const now_ms = clock.now_ms();
            const reported = new Map((await tally.listLimits('u')).map((limit) => [limit.id, limit.used]));
            const { charges, holds } = await tally.store.read(async (tx) => ({
              charges: await tx.listCharges({ account_id: 'u' }, { limit: 10_000 }),
              holds: await tx.listHeldReservations('u'),
            }));
            const live = holds.filter((hold) => hold.expires_at_ms > now_ms).map(spendRecord);
            for (const rule of tally.config.limits) {
              const window = limitWindow(rule, now_ms, timezone, null);
              const expected = spentUnder(rule, window, charges.map(spendRecord), live);
              expect(reported.get(rule.id), `${rule.id} at ${new Date(now_ms).toISOString()}`).toBe(
                formatCredits(expected),
              );
            }
          }
        } finally {
          await tally.close();
        }
      },
    ),
    { numRuns: RUNS, ...(seed ? { seed: Number(seed) } : {}), ...(path ? { path } : {}) },
  );
}, 300_000);

it('tally verify reports a spend bucket that no longer matches its charges', async () => {
  const { tally } = await openTestTally({ config: CONFIG });
  try {
    await tally.putAccount({ id: 'u', kind: 'user' });
    await tally.issueGrant({ account: 'u', kind: 'bonus', amount: '100' });
    await tally.charge({
      account: 'u',
      operation: 'run',
      usage: { credits: 3 },
      metadata: { project: 'p1' },
    });
    expect(await tally.verify()).toMatchObject({ ok: true });
    (tally.store as SqliteStore).connection.exec('UPDATE spend_buckets SET spent_micros = spent_micros - 1');
    expect((await tally.verify()).problems).toEqual([
      expect.objectContaining({
        account: 'u',
        check: 'spend',
        message: expect.stringMatching(
          /run\/-\/p1\/- free holds 2999999 micro-credits; its charges spent 3000000/,
        ),
      }),
    ]);
  } finally {
    await tally.close();
  }
});
