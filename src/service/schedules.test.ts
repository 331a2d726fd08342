import { describe, expect, it } from 'vitest';
import { openTestTally } from '../../test/helpers.ts';
import { localDateTime } from '../domain/calendar.ts';
import type { TallyConfigInput } from '../schema/config.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';

const OPERATIONS = { 'chat.fast': { rates: { credits: '1' } } };
const daily: TallyConfigInput = {
  allowances: [{ id: 'daily', kind: 'daily', amount: 50, period: 'daily', expires: 'period_end' }],
  price_book: { operations: OPERATIONS },
};

async function dailyGrants(tally: Awaited<ReturnType<typeof openTestTally>>['tally'], account: string) {
  return (await tally.listGrants(account)).filter((grant) => grant.kind === 'daily');
}

describe('daily allowances at local midnight, DST included', () => {
  for (const [timezone, start] of [
    ['America/Los_Angeles', '2027-03-12T20:00:00Z'],
    ['America/Los_Angeles', '2027-11-05T20:00:00Z'],
    ['Europe/London', '2027-03-26T20:00:00Z'],
    ['Asia/Kolkata', '2027-03-12T20:00:00Z'],
  ] as const) {
    it(`${timezone} from ${start}: exactly one grant per local day, from local midnight to the next`, async () => {
      const { tally, clock } = await openTestTally({ config: daily, start });
      await tally.putAccount({ id: 'dev', kind: 'user', timezone });
      // Walk four days an hour at a time, with the background pass running each hour.
      for (let hour = 0; hour < 96; hour++) {
        clock.advanceSeconds(3_600);
        await tally.bookDueWork();
      }
      const grants = await dailyGrants(tally, 'dev');
      expect(grants).toHaveLength(5);
      for (const grant of grants.slice(1)) {
        expect(localDateTime(Date.parse(grant.effective_at), timezone)).toMatchObject({
          hour: 0,
          minute: 0,
          second: 0,
        });
        expect(localDateTime(Date.parse(grant.expires_at!), timezone)).toMatchObject({
          hour: 0,
          minute: 0,
          second: 0,
        });
      }
      const days = grants.map((grant) => {
        const local = localDateTime(Date.parse(grant.effective_at), timezone);
        return `${local.year}-${local.month}-${local.day}`;
      });
      expect(new Set(days).size).toBe(5);
      // Only today's grant is usable: no rollover.
      expect((await tally.getBalance('dev')).by_kind.daily?.available).toBe('50');
      expect((await tally.verify()).ok).toBe(true);
    });
  }

  it('gives the 23-hour and 25-hour days of Los Angeles grants of 23 and 25 hours', async () => {
    const { tally, clock } = await openTestTally({ config: daily, start: '2027-03-13T20:00:00Z' });
    await tally.putAccount({ id: 'dev', kind: 'user', timezone: 'America/Los_Angeles' });
    clock.set('2027-03-14T12:00:00Z');
    const spring = (await dailyGrants(tally, 'dev')).at(-1)!;
    expect((Date.parse(spring.expires_at!) - Date.parse(spring.effective_at)) / 3_600_000).toBe(23);
    clock.set('2027-11-07T12:00:00Z');
    const fall = (await dailyGrants(tally, 'dev')).at(-1)!;
    expect((Date.parse(fall.expires_at!) - Date.parse(fall.effective_at)) / 3_600_000).toBe(25);
  });
});

describe('catching up after downtime', () => {
  it('issues exactly the three daily grants that fell due while stopped, each expired as it should be', async () => {
    const { tally, clock } = await openTestTally({ config: daily, start: '2027-05-01T12:00:00Z' });
    await tally.putAccount({ id: 'dev', kind: 'user', timezone: 'UTC' });
    // The engine is stopped for three days: nothing runs, no one reads.
    clock.set('2027-05-04T12:00:00Z');
    expect(await tally.bookDueWork()).toMatchObject({ accounts: 1 });
    const grants = await dailyGrants(tally, 'dev');
    expect(grants.map((grant) => [grant.effective_at.slice(0, 10), grant.status])).toEqual([
      ['2027-05-01', 'expired'],
      ['2027-05-02', 'expired'],
      ['2027-05-03', 'expired'],
      ['2027-05-04', 'active'],
    ]);
    // Running again issues nothing more.
    await tally.bookDueWork();
    expect(await dailyGrants(tally, 'dev')).toHaveLength(4);
    expect((await tally.getBalance('dev')).available).toBe('50');
    expect((await tally.verify()).ok).toBe(true);
  });

  it('brings a read up to date without any job: the balance at local midnight already has the new day', async () => {
    const { tally, clock } = await openTestTally({ config: daily, start: '2027-05-01T12:00:00Z' });
    await tally.putAccount({ id: 'dev', kind: 'user', timezone: 'Asia/Kolkata' });
    await tally.charge({ account: 'dev', operation: 'chat.fast', usage: { credits: 30 } });
    expect((await tally.getBalance('dev')).available).toBe('20');
    clock.set('2027-05-01T18:30:00Z'); // midnight in Kolkata
    expect((await tally.getBalance('dev')).available).toBe('50');
  });
});

describe('reset and rollover', () => {
  it('reset expires what is left of the previous grant when the next one is issued (calendar months)', async () => {
    const { tally, clock } = await openTestTally({
      config: {
        allowances: [
          {
            id: 'free',
            kind: 'free',
            amount: 2000,
            period: 'monthly',
            month_starts: 'calendar',
            expires: { after_days: 30 },
            reset: true,
          },
        ],
        price_book: { operations: OPERATIONS },
      },
      start: '2027-01-15T00:00:00Z',
    });
    await tally.putAccount({ id: 'u', kind: 'user' });
    clock.set('2027-02-01T00:00:00Z');
    clock.set('2027-03-01T00:00:00Z');
    const grants = (await tally.listGrants('u')).map((grant) => [
      grant.effective_at.slice(0, 10),
      grant.status,
      grant.remaining,
    ]);
    // January's grant (30 days) ran out on Jan 31; February's would live until Mar 3, but March resets it.
    expect(grants).toEqual([
      ['2027-01-01', 'expired', '0'],
      ['2027-02-01', 'expired', '0'],
      ['2027-03-01', 'active', '2000'],
    ]);
    expect((await tally.getBalance('u')).available).toBe('2000');
  });

  it('carries unused credits into the next period up to the cap, for at most the periods allowed', async () => {
    const { tally, clock } = await openTestTally({
      config: {
        allowances: [
          {
            id: 'monthly',
            kind: 'subscription',
            amount: 1000,
            period: 'monthly',
            month_starts: 'calendar',
            rollover: { max_credits: 300, max_periods: 2 },
          },
        ],
        price_book: { operations: OPERATIONS },
      },
      start: '2027-01-10T00:00:00Z',
    });
    await tally.putAccount({ id: 'u', kind: 'user' });
    await tally.charge({ account: 'u', operation: 'chat.fast', usage: { credits: 900 } }); // 100 left in January
    clock.set('2027-02-01T00:00:00Z');
    let balance = await tally.getBalance('u');
    expect(balance.available).toBe('1100'); // 1,000 for February + 100 carried
    clock.set('2027-03-01T00:00:00Z'); // February's 1,000 unused: 300 carried; January's 100 still lives (2 periods)
    balance = await tally.getBalance('u');
    expect(balance.available).toBe('1400');
    clock.set('2027-04-01T00:00:00Z'); // January's carried 100 ends after two periods; February's 300 carried on
    expect((await tally.getBalance('u')).available).toBe('1600');
    expect((await tally.verify()).ok).toBe(true);
  });

  it('gives an account without a plan its own month, from sign-up in its timezone: "30 days" are 30 days from arrival', async () => {
    const config = {
      allowances: [
        {
          id: 'free',
          kind: 'free',
          amount: 2000,
          period: 'monthly' as const,
          expires: { after_days: 30 },
          reset: true,
        },
      ],
      price_book: { operations: OPERATIONS },
    };
    const { tally, clock } = await openTestTally({ config, start: '2027-01-13T15:30:00Z' });
    await tally.putAccount({ id: 'priya', kind: 'user', timezone: 'Asia/Kolkata' });
    const [first] = await tally.listGrants('priya');
    // Signed up at 21:00 on the 13th in Kolkata: the credits arrived then and last 30 full days.
    expect([first!.effective_at, first!.expires_at]).toEqual([
      '2027-01-13T15:30:00.000Z',
      '2027-02-12T15:30:00.000Z',
    ]);
    clock.set('2027-02-13T15:29:59Z');
    expect((await tally.getBalance('priya')).available).toBe('0');
    clock.set('2027-02-13T15:30:00Z'); // her anniversary, 21:00 in Kolkata
    expect((await tally.getBalance('priya')).available).toBe('2000');
  });

  it('goes on from where a calendar-month schedule stood when anniversaries become the rule: no period twice, none skipped', async () => {
    const allowance = { id: 'free', kind: 'free', amount: 100, period: 'monthly' as const, reset: true };
    const store = new SqliteStore({ filename: ':memory:' });
    const calendar = await openTestTally({
      config: {
        allowances: [{ ...allowance, month_starts: 'calendar' as const }],
        price_book: { operations: OPERATIONS },
      },
      start: '2027-01-13T00:00:00Z',
      store,
    });
    await calendar.tally.putAccount({ id: 'old', kind: 'user' });
    // The same database, opened with the anniversary rule, on Feb 1st: January's calendar period ended.
    const anniversary = await openTestTally({
      config: { allowances: [allowance], price_book: { operations: OPERATIONS } },
      start: '2027-02-01T00:00:00Z',
      store,
    });
    anniversary.clock.set('2027-03-20T00:00:00Z');
    const grants = (await anniversary.tally.listGrants('old')).map((grant) => [
      grant.effective_at.slice(0, 10),
      grant.status,
    ]);
    expect(grants).toEqual([
      ['2027-01-01', 'expired'],
      ['2027-02-01', 'expired'], // the bridge: from where the calendar month ended to the next anniversary
      ['2027-02-13', 'expired'],
      ['2027-03-13', 'active'],
    ]);
    expect((await anniversary.tally.verify()).ok).toBe(true);
  });
});
