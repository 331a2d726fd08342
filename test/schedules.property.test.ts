/**
 * Property: under random clock moves and operations — charges, reservations, subscriptions and
 * their changes, background passes, reads — no allowance grant is issued twice for the same
 * period, periods are issued without gaps up to now, and no charge ever draws on a grant
 * outside its effective..expiry window. A failure prints a seed and path to replay
 * (TALLY_PROPERTY_SEED / TALLY_PROPERTY_PATH).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { TallyConfigInput } from '../src/schema/config.ts';
import type { GrantView } from '../src/service/views.ts';
import { openTestTally } from './helpers.ts';

const RUNS = 400;
const CONFIG: TallyConfigInput = {
  allowances: [
    { id: 'daily', kind: 'daily', amount: 5, period: 'daily' },
    { id: 'free', kind: 'free', amount: 100, period: 'monthly', expires: { after_days: 30 }, reset: true },
  ],
  limits: [{ id: 'free_daily', window: 'day', max: 20, kinds: ['free'] }],
  plans: {
    basic: {
      price: { currency: 'USD', amount_minor: 500 },
      rank: 1,
      allowances: [
        {
          id: 'basic',
          kind: 'subscription',
          amount: 300,
          period: 'billing_cycle',
          rollover: { max_credits: 50 },
        },
      ],
    },
    plus: {
      price: { currency: 'USD', amount_minor: 1500 },
      rank: 2,
      allowances: [
        {
          id: 'plus',
          kind: 'subscription',
          amount: 1000,
          period: 'billing_cycle',
          expires: { after_days: 45 },
        },
      ],
    },
  },
  price_book: { operations: { run: { rates: { credits: '1' } } } },
};

type Step =
  | { type: 'advance'; seconds: number }
  | { type: 'charge'; credits: number }
  | { type: 'reserve_settle'; credits: number; used: number; wait_seconds: number }
  | { type: 'subscribe'; plan: 'basic' | 'plus' }
  | { type: 'cancel' }
  | { type: 'due_work' }
  | { type: 'read' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .integer({ min: 60, max: 4 * 86_400 })
      .map((seconds) => ({ type: 'advance' as const, seconds })),
  },
  {
    weight: 3,
    arbitrary: fc.integer({ min: 1, max: 60 }).map((credits) => ({ type: 'charge' as const, credits })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 80 }),
        fc.integer({ min: 0, max: 600 }),
      )
      .map(([credits, used, wait_seconds]) => ({
        type: 'reserve_settle' as const,
        credits,
        used,
        wait_seconds,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('basic' as const, 'plus' as const)
      .map((plan) => ({ type: 'subscribe' as const, plan })),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'cancel' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'due_work' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'read' as const }) },
);

const inForce = (grant: GrantView, at: string) =>
  grant.effective_at <= at && (grant.expires_at === null || at < grant.expires_at);

it(`issues each allowance period once and never spends an expired credit (${RUNS} runs)`, async () => {
  const seed = process.env.TALLY_PROPERTY_SEED;
  const path = process.env.TALLY_PROPERTY_PATH;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('UTC', 'America/Los_Angeles', 'Europe/London', 'Asia/Kolkata', 'Pacific/Chatham'),
      fc.array(step, { minLength: 5, maxLength: 25 }),
      async (timezone, steps) => {
        const { tally, clock } = await openTestTally({ config: CONFIG, start: '2027-03-01T17:30:00Z' });
        try {
          await tally.putAccount({ id: 'u', kind: 'user', timezone });
          for (const next of steps) {
            const refused = () => {};
            switch (next.type) {
              case 'advance':
                clock.advanceSeconds(next.seconds);
                break;
              case 'charge':
                await tally
                  .charge({ account: 'u', operation: 'run', usage: { credits: next.credits } })
                  .catch(refused);
                break;
              case 'reserve_settle': {
                const reservation = await tally
                  .reserve({
                    account: 'u',
                    operation: 'run',
                    max_credits: String(next.credits),
                    ttl_seconds: 300,
                  })
                  .catch(() => undefined);
                clock.advanceSeconds(next.wait_seconds);
                if (reservation)
                  await tally
                    .settle({ reservation: reservation.id, usage: { credits: next.used } })
                    .catch(refused);
                break;
              }
              case 'subscribe':
                await tally.subscribe({ account: 'u', plan: next.plan });
                break;
              case 'cancel':
                await tally.cancelSubscription('u').catch(refused);
                break;
              case 'due_work':
                await tally.bookDueWork();
                break;
              case 'read':
                await tally.getBalance('u');
                break;
            }
          }
          await tally.getBalance('u');
          const grants = await tally.listGrants('u');
          // One grant per allowance period.
          const periods = grants
            .filter((grant) => grant.source === 'allowance' || grant.source === 'plan')
            .map((grant) => `${grant.reason}`);
          expect(new Set(periods).size).toBe(periods.length);
          // The daily allowance has issued every local day up to today, none twice, none ahead.
          const daily = grants
            .filter((grant) => grant.kind === 'daily')
            .sort((a, b) => (a.effective_at < b.effective_at ? -1 : 1));
          for (let index = 1; index < daily.length; index++)
            expect(daily[index]!.effective_at).toBe(daily[index - 1]!.expires_at);
          const now = new Date(clock.now_ms()).toISOString();
          expect(daily.at(-1)!.effective_at <= now && now < daily.at(-1)!.expires_at!).toBe(true);
          // Every credit a charge drew came from a grant in force at that moment.
          const by_id = new Map(grants.map((grant) => [grant.id, grant]));
          for (const charge of (await tally.exportCharges({ account: 'u' })).filter(
            (row) => row.credits !== '0',
          )) {
            for (const allocation of charge.grants) {
              const grant = by_id.get(allocation.grant_id)!;
              const reservation = charge.reservation_id
                ? await tally.getReservation(charge.reservation_id)
                : undefined;
              // A reserved run draws when it is reserved; a one-step charge when it is charged.
              expect(inForce(grant, reservation?.created_at ?? charge.created_at)).toBe(true);
            }
          }
          expect((await tally.verify()).problems).toEqual([]);
        } finally {
          await tally.close();
        }
      },
    ),
    { numRuns: RUNS, ...(seed ? { seed: Number(seed) } : {}), ...(path ? { path } : {}) },
  );
}, 300_000);
