import { describe, expect, it } from 'vitest';
import {
  canonicalTimezone,
  instantOf,
  localDateTime,
  nextLocalMidnight,
  periodContaining,
  startOfLocalDay,
} from './calendar.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/** Every local midnight from `from` for `days` days, by walking nextLocalMidnight. */
function midnights(from: string, days: number, timezone: string): string[] {
  const result: string[] = [];
  let instant = at(from);
  for (let day = 0; day < days; day++) {
    instant = nextLocalMidnight(instant, timezone);
    result.push(iso(instant));
  }
  return result;
}

describe('local days across DST', () => {
  it('America/Los_Angeles: 2027-03-14 has 23 hours, 2027-11-07 has 25, one midnight each', () => {
    expect(midnights('2027-03-13T12:00:00Z', 2, 'America/Los_Angeles')).toEqual([
      '2027-03-14T08:00:00.000Z', // PST midnight
      '2027-03-15T07:00:00.000Z', // PDT midnight: the day was 23 h
    ]);
    expect(midnights('2027-11-06T12:00:00Z', 2, 'America/Los_Angeles')).toEqual([
      '2027-11-07T07:00:00.000Z', // PDT midnight
      '2027-11-08T08:00:00.000Z', // PST midnight: the day was 25 h
    ]);
    const short = periodContaining(at('2027-03-14T20:00:00Z'), 'daily', 'America/Los_Angeles');
    expect((short.end_ms - short.start_ms) / 3_600_000).toBe(23);
    const long = periodContaining(at('2027-11-07T20:00:00Z'), 'daily', 'America/Los_Angeles');
    expect((long.end_ms - long.start_ms) / 3_600_000).toBe(25);
  });

  it('Europe/London and Asia/Kolkata: midnight is local midnight every day of a year', () => {
    for (const timezone of ['Europe/London', 'Asia/Kolkata', 'America/Los_Angeles']) {
      const list = midnights('2027-01-01T12:00:00Z', 365, timezone);
      expect(new Set(list).size).toBe(365);
      for (const instant of list) {
        expect(localDateTime(at(instant), timezone)).toMatchObject({ hour: 0, minute: 0, second: 0 });
      }
    }
    expect(midnights('2027-03-27T12:00:00Z', 2, 'Europe/London')).toEqual([
      '2027-03-28T00:00:00.000Z',
      '2027-03-28T23:00:00.000Z',
    ]);
    expect(startOfLocalDay(at('2027-06-01T20:00:00Z'), 'Asia/Kolkata')).toBe(at('2027-06-01T18:30:00Z'));
  });

  it('maps a wall time skipped by DST to the end of the gap', () => {
    // 02:30 on 2027-03-14 does not exist in Los Angeles: clocks jump from 02:00 PST to 03:00 PDT.
    expect(
      iso(
        instantOf({ year: 2027, month: 3, day: 14, hour: 2, minute: 30, second: 0 }, 'America/Los_Angeles'),
      ),
    ).toBe('2027-03-14T10:00:00.000Z');
    // 01:30 on 2027-11-07 happens twice; the first is taken.
    expect(
      iso(
        instantOf({ year: 2027, month: 11, day: 7, hour: 1, minute: 30, second: 0 }, 'America/Los_Angeles'),
      ),
    ).toBe('2027-11-07T08:30:00.000Z');
  });
});

describe('weeks, months and billing cycles', () => {
  it('starts weeks on Monday and months on the 1st, in local time', () => {
    const week = periodContaining(at('2027-05-13T12:00:00Z'), 'weekly', 'Europe/London'); // a Thursday
    expect([iso(week.start_ms), iso(week.end_ms)]).toEqual([
      '2027-05-09T23:00:00.000Z',
      '2027-05-16T23:00:00.000Z',
    ]);
    const month = periodContaining(at('2027-02-10T12:00:00Z'), 'monthly', 'Asia/Kolkata');
    expect([iso(month.start_ms), iso(month.end_ms)]).toEqual([
      '2027-01-31T18:30:00.000Z',
      '2027-02-28T18:30:00.000Z',
    ]);
  });

  it('repeats billing cycles from the anchor, clamping the 31st to shorter months', () => {
    const anchor = at('2027-01-31T15:00:00Z');
    const february = periodContaining(at('2027-03-01T00:00:00Z'), 'billing_cycle', 'UTC', anchor);
    expect([iso(february.start_ms), iso(february.end_ms)]).toEqual([
      '2027-02-28T15:00:00.000Z',
      '2027-03-31T15:00:00.000Z',
    ]);
    const first = periodContaining(anchor, 'billing_cycle', 'UTC', anchor);
    expect([iso(first.start_ms), iso(first.end_ms)]).toEqual([
      '2027-01-31T15:00:00.000Z',
      '2027-02-28T15:00:00.000Z',
    ]);
  });
});

describe('the period last found', () => {
  it('is given again only to instants inside it, and as a copy the caller may change', () => {
    const timezone = 'America/Los_Angeles';
    // The day the clocks went forward in 2027: 23 hours long.
    const day = periodContaining(Date.parse('2027-03-14T12:00:00-07:00'), 'daily', timezone);
    expect(day.end_ms - day.start_ms).toBe(23 * 3_600_000);
    day.end_ms = 0;
    const last_moment = periodContaining(day.start_ms + 23 * 3_600_000 - 1, 'daily', timezone);
    expect(last_moment).toEqual({ start_ms: day.start_ms, end_ms: day.start_ms + 23 * 3_600_000 });
    const next = periodContaining(last_moment.end_ms, 'daily', timezone);
    expect(next).toEqual({ start_ms: last_moment.end_ms, end_ms: last_moment.end_ms + 24 * 3_600_000 });
    // Back to a day before: found afresh, not the one remembered.
    expect(periodContaining(day.start_ms - 1, 'daily', timezone).end_ms).toBe(day.start_ms);
    // Another timezone is another period.
    expect(periodContaining(last_moment.end_ms, 'daily', 'Asia/Kolkata')).not.toEqual(next);
  });
});

describe('a timezone name', () => {
  it('is given its canonical spelling, the same when asked again, and none when no zone has it', () => {
    expect(canonicalTimezone('utc')).toBe('UTC');
    expect(canonicalTimezone('Europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimezone('Europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimezone('Mars/Olympus_Mons')).toBeUndefined();
    expect(canonicalTimezone('Mars/Olympus_Mons')).toBeUndefined();
  });
});
