/**
 * The simulator's replay (SPEC C16): a trace run row by row through the real engine, never a
 * second implementation. The engine is reached through a port — the library on an in-memory
 * SQLite store with a test clock (what `tally simulate` uses), or a running server with
 * --test-clock over HTTP (what the test that keeps the two from drifting uses) — so that every
 * allowance, reset, expiry, rollover, cap, priority, auto-recharge and creator share behaves as
 * it does in production.
 */
import { isTallyError } from '../domain/results.ts';
import { TallyApiError, type TallyClient } from '../sdk/client.ts';
import type { TestClock } from '../service/clock.ts';
import type { Tally } from '../service/tally.ts';
import type { TraceRow } from './trace.ts';

/** What one row did: the credits a run was charged (with where they came from), or why it was refused. */
export type RowOutcome =
  | { line: number; ok: true; credits?: string; kinds?: Record<string, string> }
  | { line: number; ok: false; cause: string };

/** The engine as a trace drives it. */
export interface SimulationPort {
  /** Moves time forward to `at_ms` and books every piece of work that came due on the way. */
  advanceTo(at_ms: number): Promise<void>;
  ensureAccount(id: string, timezone: string | undefined): Promise<void>;
  run(
    row: Extract<TraceRow, { kind: 'run' }>,
  ): Promise<{ credits: string; grants: { kind: string; amount: string }[] }>;
  purchase(account: string, pack: string): Promise<void>;
  subscribe(account: string, plan: string): Promise<void>;
  available(account: string): Promise<string>;
}

/** Why a run or purchase was refused, as the report counts it: which limit, which entitlement, or out of credits. */
export function refusalCause(code: string, extensions: Record<string, unknown>): string {
  if (code === 'entitlement_required') return `entitlement ${String(extensions.entitlement ?? '')}`.trim();
  if (code !== 'insufficient_credits') return code;
  const blocked = (extensions.blocked_by ?? []) as { kind: string; limit_id?: string }[];
  const limit = blocked.find((blocker) => blocker.kind === 'limit');
  if (limit) return `limit ${limit.limit_id}`;
  return 'out of credits';
}

/** Replays the rows in order; refusals are outcomes, not failures. */
export async function replayTrace(
  port: SimulationPort,
  rows: readonly TraceRow[],
  progress: { tick(): void } = { tick: () => {} },
): Promise<RowOutcome[]> {
  const known = new Set<string>();
  const outcomes: RowOutcome[] = [];
  let now_ms = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    if (row.at_ms > now_ms) {
      await port.advanceTo(row.at_ms);
      now_ms = row.at_ms;
    }
    for (const account of [row.account, row.kind === 'run' ? row.creator : undefined]) {
      if (account === undefined || known.has(account)) continue;
      await port.ensureAccount(account, row.account === account ? row.timezone : undefined);
      known.add(account);
    }
    try {
      if (row.kind === 'run') {
        const charge = await port.run(row);
        const kinds: Record<string, string> = {};
        for (const grant of charge.grants) kinds[grant.kind] = grant.amount;
        outcomes.push({ line: row.line, ok: true, credits: charge.credits, kinds });
      } else {
        if (row.kind === 'purchase') await port.purchase(row.account, row.pack);
        else await port.subscribe(row.account, row.plan);
        outcomes.push({ line: row.line, ok: true });
      }
    } catch (error) {
      if (isTallyError(error))
        outcomes.push({ line: row.line, ok: false, cause: refusalCause(error.code, error.extensions) });
      else if (error instanceof TallyApiError)
        outcomes.push({
          line: row.line,
          ok: false,
          cause: refusalCause(error.problem.code, error.problem as unknown as Record<string, unknown>),
        });
      else throw error;
    }
    progress.tick();
  }
  return outcomes;
}

const SWEEP_MS = 86_400_000;

/** A trace's run as the charge it is, the same through either port. */
const chargeOf = (row: Extract<TraceRow, { kind: 'run' }>) => ({
  account: row.account,
  operation: row.operation,
  ...(row.model ? { model: row.model } : {}),
  usage: row.usage,
  outcome: row.outcome,
  ...(row.creator ? { creator: row.creator } : {}),
  metadata: {
    ...(row.thread ? { thread: row.thread } : {}),
    ...(row.project ? { project: row.project } : {}),
  },
});

/** The library on its own store and test clock: the simulator's engine. */
export function libraryPort(tally: Tally, clock: TestClock): SimulationPort {
  let booked_day = Number.NEGATIVE_INFINITY;
  return {
    // An account's own due work is booked whenever a command opens it, so a row sees exactly
    // what it would in production; the sweep over every account (expiries of accounts no row
    // touches, renewals) runs once per day of trace time; the report books the rest at the end.
    advanceTo: async (at_ms) => {
      if (at_ms > clock.now_ms()) clock.set(at_ms);
      const day = Math.floor(at_ms / SWEEP_MS);
      if (day === booked_day) return;
      booked_day = day;
      await tally.bookDueWork();
    },
    ensureAccount: async (id, timezone) => {
      await tally.putAccount({ id, kind: 'user', ...(timezone ? { timezone } : {}) });
    },
    run: (row) => tally.charge(chargeOf(row)),
    purchase: async (account, pack) => {
      await tally.purchase({ account, pack, provider: 'test' });
    },
    subscribe: async (account, plan) => {
      await tally.subscribe({ account, plan });
    },
    available: async (account) => (await tally.getBalance(account)).available,
  };
}

/** A running server with --test-clock, over its HTTP API: the same trace as a client would send it. */
export function httpPort(client: TallyClient): SimulationPort {
  return {
    advanceTo: async (at_ms) => {
      const { now } = await client.clock();
      if (at_ms > Date.parse(now)) await client.moveClock({ now: new Date(at_ms).toISOString() });
    },
    ensureAccount: async (id, timezone) => {
      await client.putAccount(id, { kind: 'user', ...(timezone ? { timezone } : {}) });
    },
    run: (row) => client.charge(chargeOf(row)),
    purchase: async (account, pack) => {
      await client.purchase({ account, pack, provider: 'test' });
    },
    subscribe: async (account, plan) => {
      await client.subscribe(account, { plan });
    },
    available: async (account) => (await client.balance(account)).available,
  };
}
