/** Only on a server started with --test-clock. */
import { TEST_CLOCK_LATEST_MS } from '../../domain/limits.ts';
import { TallyError } from '../../domain/results.ts';
import { parseInput } from '../../schema/parse.ts';

import { clockBody, type RouteDefinition } from './route.ts';

export const testClockRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/test/clock',
    summary: "The test clock's time",
    tag: 'test clock',
    access: 'read',
    customer: false,
    handle: async ({ test_clock }) => ({ now: new Date(test_clock!.now_ms()).toISOString() }),
  },
  {
    method: 'post',
    path: '/v1/test/clock',
    summary: 'Move the test clock forward, then run every job that came due, in order',
    tag: 'test clock',
    access: 'admin',
    customer: false,
    body: clockBody,
    handle: async ({ tally, test_clock, body }) => {
      const move = parseInput(clockBody, body ?? {});
      const target_ms =
        'now' in move ? Date.parse(move.now) : test_clock!.now_ms() + move.advance_seconds * 1000;
      if (target_ms < test_clock!.now_ms()) throw new TallyError('test_clock_backwards');
      // Refused before moving: a clock past every valid date would break each later request.
      if (target_ms > TEST_CLOCK_LATEST_MS)
        throw new TallyError(
          'test_clock_out_of_range',
          `the latest time is ${new Date(TEST_CLOCK_LATEST_MS).toISOString()}`,
        );
      test_clock!.set(target_ms);
      const due = await tally.bookDueWork();
      const webhooks = await tally.webhooks.dispatch();
      return { now: new Date(test_clock!.now_ms()).toISOString(), due_work: due, webhooks };
    },
  },
];
