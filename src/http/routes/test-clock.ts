/** Only on a server started with --test-clock. */
import { clockAnswer, clockMoveAnswer } from '../../schema/answers.ts';
import { moveTestClockCommand, moveTestClockInput } from '../../service/commands/test-clock.ts';

import type { RouteDefinition } from './route.ts';

export const testClockRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/test/clock',
    summary: "The test clock's time",
    tag: 'test clock',
    access: 'read',
    customer: false,
    answer: clockAnswer,
    handle: async ({ test_clock }) => ({ now: new Date(test_clock!.now_ms()).toISOString() }),
  },
  {
    method: 'post',
    path: '/v1/test/clock',
    summary: 'Move the test clock forward, then run every job that came due, in order',
    tag: 'test clock',
    access: 'admin',
    customer: false,
    body: moveTestClockInput,
    idempotent: true,
    answer: clockMoveAnswer,
    handle: async ({ tally, body, options }) => {
      const moved = await tally.run(moveTestClockCommand, body ?? {}, options);
      const due_work = await tally.bookDueWork();
      const webhooks = await tally.webhooks.dispatch();
      return { ...moved, due_work, webhooks };
    },
  },
];
