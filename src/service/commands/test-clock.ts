/**
 * The test clock (SPEC C3): on a server started with --test-clock, time moves only when asked.
 * Moving it is a command like any other — validated, idempotent and audited — so a retried
 * "advance one day" moves the clock once.
 */
import { z } from 'zod';
import { TEST_CLOCK_LATEST_MS } from '../../domain/limits.ts';
import { TallyError } from '../../domain/results.ts';
import { isoTime } from '../views.ts';
import { command } from './command.ts';

export const moveTestClockInput = z.union([
  z.strictObject({
    advance_seconds: z
      .number()
      .int()
      .min(0)
      .max(TEST_CLOCK_LATEST_MS / 1000),
  }),
  z.strictObject({ now: z.iso.datetime({ offset: true }) }),
]);

/** Moves the test clock forward to a time, or by some seconds; never back, never past TEST_CLOCK_LATEST_MS. */
export const moveTestClockCommand = command({
  name: 'move_test_clock',
  input: moveTestClockInput,
  audited: true,
  run: async ({ engine, now_ms }, move) => {
    if (!engine.test_clock) throw new TallyError('test_clock_disabled');
    const target_ms = 'now' in move ? Date.parse(move.now) : now_ms + move.advance_seconds * 1000;
    if (target_ms < now_ms) throw new TallyError('test_clock_backwards');
    // Refused before moving: a clock past every valid date would break each later request.
    if (target_ms > TEST_CLOCK_LATEST_MS)
      throw new TallyError(
        'test_clock_out_of_range',
        `the latest time is ${new Date(TEST_CLOCK_LATEST_MS).toISOString()}`,
      );
    return { now: isoTime(target_ms) };
  },
  // The clock moves once the command committed; a replay finds it there already (never moves it back).
  committed: (engine, answer) => {
    const target_ms = Date.parse(answer.now);
    if (engine.test_clock && target_ms > engine.test_clock.now_ms()) engine.test_clock.set(target_ms);
  },
});
