/**
 * Usage history (SPEC C13): an account's charges filtered and paged newest first, and usage
 * grouped by day (in the account's timezone), operation, model, thread, project, member or
 * outcome, with the effective cost per usable output (failed and rejected runs count in the
 * spend, not in the outputs — seed 001).
 */
import type { z } from 'zod';
import { formatCredits } from '../domain/credits.ts';
import { HISTORY_ROWS_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { usageAnswer } from '../schema/answers.ts';
import type { listChargesInput, usageInput } from '../schema/commands.ts';
import type { ChargeFilter, ChargeRow, StoreTransaction } from '../store/store.ts';

type HistoryQuery = Omit<ReturnType<typeof listChargesInput.parse>, 'limit' | 'cursor'>;

export function chargeFilter(query: HistoryQuery): ChargeFilter {
  return {
    account_id: query.account,
    from_ms: query.from,
    to_ms: query.to,
    operation: query.operation,
    model: query.model,
    member: query.member,
    outcome: query.outcome,
    thread: query.thread,
    project: query.project,
    app: query.app,
  };
}

/** A position in a list ordered by (created_at_ms, id): charges, reservations. */
export function encodeCursor(row: { created_at_ms: number; id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at_ms, row.id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { created_at_ms: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [created_at_ms, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [
      unknown,
      unknown,
    ];
    if (typeof created_at_ms === 'number' && typeof id === 'string') return { created_at_ms, id };
  } catch {}
  throw new TallyError('invalid_request', 'the cursor is not one this API gave', {
    errors: [{ field: 'cursor', code: 'invalid_request', message: 'is not a cursor from next_cursor' }],
  });
}

/** Every charge matching the filter, newest first, read page by page, at most HISTORY_ROWS_MAX. */
export async function allCharges(transaction: StoreTransaction, filter: ChargeFilter): Promise<ChargeRow[]> {
  const rows: ChargeRow[] = [];
  let after: { created_at_ms: number; id: string } | undefined;
  for (;;) {
    const page = await transaction.listCharges(filter, { limit: 1_000, after });
    rows.push(...page);
    if (rows.length > HISTORY_ROWS_MAX) {
      throw new TallyError(
        'invalid_request',
        `more than ${HISTORY_ROWS_MAX} charges match; narrow the time range`,
      );
    }
    if (page.length < 1_000) return rows;
    const last = page.at(-1)!;
    after = { created_at_ms: last.created_at_ms, id: last.id };
  }
}

export type UsageGroup = UsageView['groups'][number];

export type UsageView = z.infer<typeof usageAnswer>;

function groupKey(charge: ChargeRow, group_by: string, day: Intl.DateTimeFormat): string {
  switch (group_by) {
    case 'day':
      return day.format(new Date(charge.created_at_ms));
    case 'operation':
      return charge.operation;
    case 'model':
      return charge.model ?? '(none)';
    case 'member':
      return charge.member ?? '(none)';
    case 'outcome':
      return charge.outcome;
    default:
      return (charge.metadata as Record<string, string | undefined>)[group_by] ?? '(none)';
  }
}

export function summarizeUsage(
  query: ReturnType<typeof usageInput.parse>,
  charges: readonly ChargeRow[],
  timezone: string,
): UsageView {
  // en-CA formats dates as YYYY-MM-DD.
  const day = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  const groups = new Map<string, { credits: bigint; count: number; failed: number }>();
  let total = 0n;
  let usable = 0;
  for (const charge of charges) {
    const key = groupKey(charge, query.group_by, day);
    const group = groups.get(key) ?? { credits: 0n, count: 0, failed: 0 };
    const spent = charge.credits_micros - charge.refunded_micros;
    group.credits += spent;
    group.count++;
    if (charge.outcome !== 'succeeded') group.failed++;
    else usable++;
    groups.set(key, group);
    total += spent;
  }
  return {
    account: query.account,
    group_by: query.group_by,
    groups: [...groups]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, group]) => ({
        key,
        credits: formatCredits(group.credits),
        count: group.count,
        failed: group.failed,
      })),
    total_credits: formatCredits(total),
    runs: charges.length,
    usable_outputs: usable,
    effective_cost_per_usable_output: usable === 0 ? null : formatCredits(total / BigInt(usable)),
  };
}
