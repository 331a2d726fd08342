/**
 * The operator's fairness analytics (SPEC C16, seed 001): breakage — credits that expired
 * unused — by kind, plan or month, also in money; and the effective cost per usable output
 * (failed and rejected runs count in the spend, not in the outputs) by operation, plan or project.
 */
import type { z } from 'zod';
import { formatCredits } from '../../domain/credits.ts';
import { HISTORY_ROWS_MAX } from '../../domain/limits.ts';
import { moneyFor } from '../../domain/money.ts';
import { TallyError } from '../../domain/results.ts';
import type { breakageAnswer, effectiveCostAnswer } from '../../schema/answers.ts';
import { breakageInput, effectiveCostInput } from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import type { ReadContext } from './reads.ts';

export type BreakageView = z.infer<typeof breakageAnswer>;
export type EffectiveCostView = z.infer<typeof effectiveCostAnswer>;

const tooMany = () =>
  new TallyError('invalid_request', `more than ${HISTORY_ROWS_MAX} rows match; narrow the time range`);

const sortedByKey = <Row extends { key: string }>(rows: Row[]) =>
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

export async function breakage(
  context: ReadContext,
  input: z.input<typeof breakageInput>,
): Promise<BreakageView> {
  const query = parseInput(breakageInput, input);
  const now_ms = context.clock.now_ms();
  return context.store.read(async (transaction) => {
    const rows = await transaction.listExpiredCredits(
      { from_ms: query.from ?? 0, to_ms: query.to ?? now_ms + 1 },
      HISTORY_ROWS_MAX + 1,
    );
    if (rows.length > HISTORY_ROWS_MAX) throw tooMany();
    const book = await context.price_books.inForceAt(transaction, now_ms);
    const sums = new Map<string, { micros: bigint; grants: number }>();
    for (const row of rows) {
      const key =
        query.group_by === 'kind'
          ? row.kind
          : query.group_by === 'plan'
            ? (row.plan_id ?? '(no plan)')
            : new Date(row.closed_at_ms).toISOString().slice(0, 7);
      const sum = sums.get(key) ?? { micros: 0n, grants: 0 };
      sum.micros += row.amount_micros;
      sum.grants += 1;
      sums.set(key, sum);
    }
    const total = rows.reduce((sum, row) => sum + row.amount_micros, 0n);
    return {
      group_by: query.group_by,
      groups: sortedByKey(
        [...sums].map(([key, sum]) => ({
          key,
          credits: formatCredits(sum.micros),
          money: moneyFor(sum.micros, book.credit_value),
          grants: sum.grants,
        })),
      ),
      credits: formatCredits(total),
      money: moneyFor(total, book.credit_value),
    };
  });
}

export async function effectiveCost(
  context: ReadContext,
  input: z.input<typeof effectiveCostInput>,
): Promise<EffectiveCostView> {
  const query = parseInput(effectiveCostInput, input);
  const now_ms = context.clock.now_ms();
  return context.store.read(async (transaction) => {
    const sums = new Map<string, { micros: bigint; runs: number; failed: number; usable: number }>();
    const range = { from_ms: query.from ?? 0, to_ms: query.to ?? now_ms + 1 };
    let read = 0;
    let after: { created_at_ms: number; id: string } | undefined;
    for (;;) {
      const page = await transaction.listChargesOfAll(range, { limit: 1_000, after });
      read += page.length;
      if (read > HISTORY_ROWS_MAX) throw tooMany();
      for (const charge of page) {
        const key =
          query.group_by === 'operation'
            ? charge.operation
            : query.group_by === 'plan'
              ? (charge.plan_id ?? '(no plan)')
              : (charge.metadata.project ?? '(none)');
        const sum = sums.get(key) ?? { micros: 0n, runs: 0, failed: 0, usable: 0 };
        sum.micros += charge.credits_micros - charge.refunded_micros;
        sum.runs += 1;
        if (charge.outcome === 'failed') sum.failed += 1;
        if (charge.outcome === 'succeeded') sum.usable += 1;
        sums.set(key, sum);
      }
      if (page.length < 1_000) break;
      const last = page.at(-1)!;
      after = { created_at_ms: last.created_at_ms, id: last.id };
    }
    const book = await context.price_books.inForceAt(transaction, now_ms);
    return {
      group_by: query.group_by,
      groups: sortedByKey(
        [...sums].map(([key, sum]) => {
          const per_output = sum.usable === 0 ? null : sum.micros / BigInt(sum.usable);
          return {
            key,
            credits: formatCredits(sum.micros),
            runs: sum.runs,
            failed: sum.failed,
            usable_outputs: sum.usable,
            effective_cost_per_usable_output: per_output === null ? null : formatCredits(per_output),
            money_per_usable_output: per_output === null ? null : moneyFor(per_output, book.credit_value),
          };
        }),
      ),
    };
  });
}
