/**
 * Calendar arithmetic in an account's IANA timezone, DST included (SPEC C3): local midnights,
 * weeks, months and billing cycles as UTC instants. Pure: Intl supplies the zone rules.
 */
import { TIMEZONE_NAMES_REMEMBERED_MAX } from './limits.ts';

/**
 * How allowances and windows divide time: `monthly` is calendar months; `monthly_anniversary`
 * and `billing_cycle` are months from an anchor (a sign-up, a subscription's start), on the
 * anchor's day of the month (or the month's last day when it has fewer).
 */
/** Milliseconds in a day of 24 hours (not a local calendar day, which DST can lengthen or shorten). */
export const DAY_MS = 86_400_000;

export type Period = 'daily' | 'weekly' | 'monthly' | 'monthly_anniversary' | 'billing_cycle';

interface LocalDate {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
}

interface LocalDateTime extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

/** Timezone names checked so far, the valid ones, with their canonical spelling. */
const canonical_timezones = new Map<string, string>();

/**
 * The canonical IANA name of `timezone` (`utc` → `UTC`, `Europe/paris` → `Europe/Paris`), or
 * undefined where Intl knows no such zone. Remembered: building the Intl formatter that checks a
 * name costs tens of microseconds, and a trace or an import checks one per row.
 */
export function canonicalTimezone(timezone: string): string | undefined {
  const known = canonical_timezones.get(timezone);
  if (known !== undefined) return known;
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  if (canonical_timezones.size < TIMEZONE_NAMES_REMEMBERED_MAX) canonical_timezones.set(timezone, canonical);
  return canonical;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, format);
  }
  return format;
}

/** The wall-clock time in `timezone` at an instant. */
export function localDateTime(instant_ms: number, timezone: string): LocalDateTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timezone).formatToParts(new Date(instant_ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The zone's offset from UTC at an instant, in milliseconds (positive east of Greenwich). */
function offsetAt(instant_ms: number, timezone: string): number {
  const local = localDateTime(instant_ms, timezone);
  const as_utc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  return as_utc - Math.floor(instant_ms / 1000) * 1000;
}

/**
 * The first instant at which the wall clock in `timezone` reads `local` or later. When DST skips
 * that wall time (a spring-forward gap), this is the end of the gap.
 */
export function instantOf(local: LocalDateTime, timezone: string): number {
  const wall_ms = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  // Two candidate offsets: the one in force a day before and a day after cover any transition.
  const candidates = [offsetAt(wall_ms - 86_400_000, timezone), offsetAt(wall_ms + 86_400_000, timezone)]
    .map((offset) => wall_ms - offset)
    .filter((instant) => {
      const back = localDateTime(instant, timezone);
      return Date.UTC(back.year, back.month - 1, back.day, back.hour, back.minute, back.second) === wall_ms;
    })
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0]!;
  // In a gap (DST springs over this wall time): the first instant whose wall time is later.
  const wallAt = (instant: number) => {
    const back = localDateTime(instant, timezone);
    return Date.UTC(back.year, back.month - 1, back.day, back.hour, back.minute, back.second);
  };
  let low =
    wall_ms - Math.max(offsetAt(wall_ms - 86_400_000, timezone), offsetAt(wall_ms + 86_400_000, timezone));
  let high =
    wall_ms - Math.min(offsetAt(wall_ms - 86_400_000, timezone), offsetAt(wall_ms + 86_400_000, timezone));
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (wallAt(middle) >= wall_ms) high = middle;
    else low = middle;
  }
  return high;
}

function addDays(date: LocalDate, days: number): LocalDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The same wall time `months` later, the day clamped to the month's length (Jan 31 + 1 month = Feb 28). */
function addMonths(local: LocalDateTime, months: number, anchor_day = local.day): LocalDateTime {
  const index = local.year * 12 + (local.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return { ...local, year, month, day: Math.min(anchor_day, daysInMonth(year, month)) };
}

const midnight = (date: LocalDate): LocalDateTime => ({ ...date, hour: 0, minute: 0, second: 0 });

export function startOfLocalDay(instant_ms: number, timezone: string): number {
  return instantOf(midnight(localDateTime(instant_ms, timezone)), timezone);
}

export function nextLocalMidnight(instant_ms: number, timezone: string): number {
  return instantOf(midnight(addDays(localDateTime(instant_ms, timezone), 1)), timezone);
}

export interface Window {
  start_ms: number;
  end_ms: number;
}

/**
 * The period containing `instant_ms`. Weeks start on Monday; billing cycles repeat monthly from
 * `anchor_ms` (the subscription's start), keeping its wall time and day of month.
 */
export function periodContaining(
  instant_ms: number,
  period: Period,
  timezone: string,
  anchor_ms?: number,
): Window {
  if (period !== 'daily' && period !== 'weekly' && period !== 'monthly')
    return periodOf(instant_ms, period, timezone, anchor_ms);
  // Periods of one kind in one timezone partition time: the last one found, if it holds the
  // instant, is the answer. Every run under a daily or monthly limit asks for the same one.
  const key = `${period} ${timezone}`;
  const last = last_period.get(key);
  if (last && last.start_ms <= instant_ms && instant_ms < last.end_ms) return { ...last };
  const found = periodOf(instant_ms, period, timezone, anchor_ms);
  if (last_period.size >= LAST_PERIODS_MAX) last_period.clear();
  last_period.set(key, found);
  return { ...found };
}

/** The last daily, weekly and monthly period found per timezone (Intl's local time is dear). */
const last_period = new Map<string, Window>();
const LAST_PERIODS_MAX = 3_000;

function periodOf(instant_ms: number, period: Period, timezone: string, anchor_ms?: number): Window {
  const local = localDateTime(instant_ms, timezone);
  switch (period) {
    case 'daily':
      return {
        start_ms: startOfLocalDay(instant_ms, timezone),
        end_ms: nextLocalMidnight(instant_ms, timezone),
      };
    case 'weekly': {
      const weekday = (new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay() + 6) % 7;
      const monday = addDays(local, -weekday);
      return {
        start_ms: instantOf(midnight(monday), timezone),
        end_ms: instantOf(midnight(addDays(monday, 7)), timezone),
      };
    }
    case 'monthly': {
      const first = { year: local.year, month: local.month, day: 1 };
      return {
        start_ms: instantOf(midnight(first), timezone),
        end_ms: instantOf(addMonths(midnight(first), 1, 1), timezone),
      };
    }
    case 'monthly_anniversary':
    case 'billing_cycle': {
      if (anchor_ms === undefined) throw new RangeError(`a ${period} period needs its anchor`);
      const anchor = localDateTime(anchor_ms, timezone);
      let months = (local.year - anchor.year) * 12 + (local.month - anchor.month);
      let start = instantOf(addMonths(anchor, months, anchor.day), timezone);
      if (start > instant_ms) {
        months--;
        start = instantOf(addMonths(anchor, months, anchor.day), timezone);
      }
      return { start_ms: start, end_ms: instantOf(addMonths(anchor, months + 1, anchor.day), timezone) };
    }
  }
}
