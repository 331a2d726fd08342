/** Reads of creators' earnings and payouts (SPEC C10). */

import type { z } from 'zod';
import { formatCredits } from '../../domain/credits.ts';
import { PAGE_SIZE_MAX } from '../../domain/limits.ts';
import type { creatorSummaryAnswer } from '../../schema/answers.ts';
import { type EarningsInput, earningsInput } from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import { creatorStatement, type EarningsView, payableOf } from '../creators/statements.ts';
import { type PayoutView, payoutView } from '../views.ts';
import { pageSize } from './page.ts';
import { existingAccount, type ReadContext } from './reads.ts';

/** A creator's statement over [from, to) (to defaults to now), with what is payable now. */
export async function creatorEarnings(context: ReadContext, input: EarningsInput): Promise<EarningsView> {
  const query = parseInput(earningsInput, input);
  const now_ms = context.clock.now_ms();
  return context.store.read(async (transaction) => {
    const account = await existingAccount(transaction, query.creator);
    const book = await context.price_books.inForceAt(transaction, now_ms);
    return creatorStatement(
      transaction,
      context.config,
      book.credit_value,
      {
        creator: query.creator,
        from_ms: query.from,
        to_ms: query.to ?? now_ms + 1,
        group_by: query.group_by,
        timezone: account.timezone,
      },
      now_ms,
    );
  });
}

/** A creator's payouts, newest first. */
export async function listPayouts(
  context: ReadContext,
  query: { creator: string; limit?: number | undefined },
): Promise<{ data: PayoutView[]; next_cursor: null }> {
  return context.store.read(async (transaction) => {
    await existingAccount(transaction, query.creator);
    const rows = await transaction.listCreatorPayouts(query.creator, pageSize(query.limit));
    return { data: rows.map(payoutView), next_cursor: null };
  });
}

export type CreatorSummaryView = z.infer<typeof creatorSummaryAnswer>;

/** Every account that earned as a creator, with its net earnings, what is payable and what was paid (the console). */
export async function listCreators(
  context: ReadContext,
  query: { cursor?: string | undefined; limit?: number | undefined },
): Promise<{ data: CreatorSummaryView[]; next_cursor: string | null }> {
  const limit = Math.min(pageSize(query.limit), PAGE_SIZE_MAX);
  const now_ms = context.clock.now_ms();
  return context.store.read(async (transaction) => {
    const ids = await transaction.listCreators({ after: query.cursor, limit: limit + 1 });
    const data = [];
    for (const creator of ids.slice(0, limit)) {
      const payable = await payableOf(transaction, context.config, creator, now_ms);
      data.push({
        creator,
        net: formatCredits(payable.payable_micros + payable.paid_micros + payable.in_hold_micros),
        payable: formatCredits(payable.payable_micros),
        paid: formatCredits(payable.paid_micros),
      });
    }
    return { data, next_cursor: ids.length > limit ? ids[limit - 1]! : null };
  });
}
