/** Fixtures shared by service, property and scenario tests. */
import { expect } from 'vitest';
import { TallyError } from '../src/domain/results.ts';
import { createTally } from '../src/index.ts';
import type { TallyConfigInput } from '../src/schema/config.ts';
import { TestClock } from '../src/service/clock.ts';
import type { Tally } from '../src/service/tally.ts';
import type { Store } from '../src/store/store.ts';

export const TEST_CONFIG: TallyConfigInput = {
  // The tests' webhook receivers listen on loopback.
  webhooks: { allow_loopback: true },
  price_book: {
    version: 1,
    effective_at: '2026-01-01T00:00:00Z',
    operations: {
      'chat.fast': {
        rates: { input_tokens: '0.001', output_tokens: '0.004' },
        rounding: { mode: 'up', step_credits: '1' },
        failed_run: { policy: 'none' },
      },
      'image.standard': { rates: { images: '10' }, failed_run: { policy: 'full' } },
      'web.extract': { flat_credits: '8', max_credits: '8' },
    },
  },
};

export async function openTestTally(
  options: { config?: TallyConfigInput | string; store?: Store; start?: string } = {},
): Promise<{ tally: Tally; clock: TestClock }> {
  const clock = new TestClock(options.start ?? '2026-03-01T10:00:00Z');
  const tally = await createTally({ config: options.config ?? TEST_CONFIG, clock, store: options.store });
  return { tally, clock };
}

/** Everything the ledger holds, in a comparable form: a refused command must leave it identical. */
export async function ledgerSnapshot(tally: Tally): Promise<unknown> {
  return tally.store.read(async (transaction) => {
    const accounts = await transaction.listAccountIds(null, 10_000);
    const snapshot = [];
    for (const account of accounts) {
      snapshot.push({
        account: await transaction.getAccount(account),
        journal: await transaction.listJournal(account, { after_sequence: 0, limit: 1_000_000 }),
        grants: await transaction.listGrants(account),
        reservations: await transaction.listReservations(account),
      });
    }
    return snapshot;
  });
}

/** Awaits a command that must be refused, and returns the refusal. */
export async function refusal(promise: Promise<unknown>): Promise<TallyError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TallyError);
  return error as TallyError;
}

/** Settles every promise and counts the answers by outcome: `ok`, or the refusal's code. */
export async function outcomes(promises: Promise<unknown>[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const result of await Promise.allSettled(promises)) {
    const outcome =
      result.status === 'fulfilled' ? 'ok' : ((result.reason as { code?: string }).code ?? 'error');
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}
