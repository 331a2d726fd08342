/** Support reads (SPEC C13): a thread's review with what to compensate, and the incidents recorded. */
import type { z } from 'zod';
import { DAY_MS } from '../../domain/calendar.ts';
import { formatCredits } from '../../domain/credits.ts';
import { TYPICAL_USAGE_CHARGES_MAX } from '../../domain/limits.ts';
import { moneyFor } from '../../domain/money.ts';
import { reviewThread, typicalCost } from '../../domain/review.ts';
import type { threadReviewAnswer } from '../../schema/answers.ts';
import { incidentView } from '../commands/support.ts';
import { allCharges } from '../history.ts';
import { chargeView } from '../views.ts';
import { existingAccount, type ReadContext } from './reads.ts';

/** How far back the account's runs make its typical cost per operation. */
const TYPICAL_COST_WINDOW_DAYS = 30;

export type ThreadReviewView = z.infer<typeof threadReviewAnswer>;

export async function threadReview(
  context: ReadContext,
  query: { account: string; thread: string },
): Promise<ThreadReviewView> {
  const now_ms = context.clock.now_ms();
  return context.store.read(async (transaction) => {
    await existingAccount(transaction, query.account);
    const charges = (
      await allCharges(transaction, { account_id: query.account, thread: query.thread })
    ).reverse();
    const recent = await transaction.listRecentCharges(
      query.account,
      now_ms - TYPICAL_COST_WINDOW_DAYS * DAY_MS,
      TYPICAL_USAGE_CHARGES_MAX,
    );
    const costs = new Map<string, bigint[]>();
    for (const charge of recent)
      costs.set(charge.operation, [...(costs.get(charge.operation) ?? []), charge.credits_micros]);
    const typical = new Map<string, bigint>();
    for (const [operation, list] of costs) {
      const median = typicalCost(list);
      if (median !== undefined) typical.set(operation, median);
    }
    const incidents =
      charges.length === 0
        ? []
        : await transaction.listIncidents({
            from_ms: charges[0]!.created_at_ms,
            to_ms: charges.at(-1)!.created_at_ms + 1,
          });
    const flags = reviewThread(charges, typical, incidents);
    const flagged = new Set(flags.flatMap((flag) => flag.runs));
    const proposed = charges
      .filter((charge) => flagged.has(charge.id))
      .reduce((sum, charge) => sum + charge.credits_micros - charge.refunded_micros, 0n);
    const book = await context.price_books.inForceAt(transaction, now_ms);
    const views = [];
    for (const charge of charges)
      views.push(
        chargeView(charge, (await context.price_books.get(transaction, charge.price_version)).credit_value),
      );
    return {
      account: query.account,
      thread: query.thread,
      charges: views,
      flags: flags.map((flag) => ({ kind: flag.kind, charges: flag.runs, detail: flag.detail })),
      proposed_compensation: formatCredits(proposed),
      money: moneyFor(proposed, book.credit_value),
    };
  });
}

export async function listIncidents(context: ReadContext, query: { from_ms?: number; to_ms?: number } = {}) {
  return context.store.read(async (transaction) => ({
    data: (
      await transaction.listIncidents({
        from_ms: query.from_ms ?? 0,
        to_ms: query.to_ms ?? Number.MAX_SAFE_INTEGER,
      })
    ).map(incidentView),
  }));
}
