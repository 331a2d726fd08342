/**
 * Thread review (SPEC C13, seed 003's "review of unexpectedly high usage"): which runs of a
 * thread look like the platform's fault rather than the user's work. Pure: it is handed the
 * thread's runs in order, the account's typical cost per operation and the incidents, and says
 * which runs it flags and why.
 *
 * - `retry_loop`: three or more consecutive near-identical requests (same operation and model,
 *   every usage dimension within 10 %); every run after the first is flagged.
 * - `retry_cycle`: a cycle of 2 to 4 requests repeated at least three times (A, B, A, B, A, B);
 *   every run after the first cycle is flagged.
 * - `failed_cost`: a failed run that still cost credits.
 * - `outlier`: a run costing more than OUTLIER_FACTOR times the account's typical (median) cost
 *   for the operation, when at least OUTLIER_SAMPLES_MIN runs make that typical.
 * - `incident`: a run inside a platform incident the operator recorded, of an operation it names.
 */

/** Usage of two requests within this fraction of each other counts as the same request. */
export const NEAR_IDENTICAL_TOLERANCE = 0.1;
/** Consecutive near-identical requests from which a thread is a retry loop. */
export const LOOP_REPEATS_MIN = 3;
/** The longest cycle looked for, and how many times it must repeat. */
export const CYCLE_PERIOD_MAX = 4;
export const CYCLE_REPEATS_MIN = 3;
export const OUTLIER_FACTOR = 3n;
export const OUTLIER_SAMPLES_MIN = 5;

export interface ReviewedRun {
  id: string;
  operation: string;
  model: string | null;
  usage: Readonly<Record<string, string>>;
  outcome: 'succeeded' | 'failed' | 'rejected';
  credits_micros: bigint;
  created_at_ms: number;
}

export type FlagKind = 'retry_loop' | 'retry_cycle' | 'failed_cost' | 'outlier' | 'incident';

export interface Flag {
  kind: FlagKind;
  /** The runs flagged, in thread order. */
  runs: string[];
  detail: string;
}

/** Whether two requests are the same request, give or take NEAR_IDENTICAL_TOLERANCE of usage. */
export function nearIdentical(a: ReviewedRun, b: ReviewedRun): boolean {
  if (a.operation !== b.operation || a.model !== b.model) return false;
  const dimensions = new Set([...Object.keys(a.usage), ...Object.keys(b.usage)]);
  for (const dimension of dimensions) {
    // Usage is measured, not money: a float comparison within a tolerance is what is meant.
    const x = Number(a.usage[dimension] ?? 0);
    const y = Number(b.usage[dimension] ?? 0);
    if (Math.abs(x - y) > NEAR_IDENTICAL_TOLERANCE * Math.max(x, y)) return false;
  }
  return true;
}

/** Runs of LOOP_REPEATS_MIN or more near-identical requests in a row: all but the first of each. */
export function retryLoops(runs: readonly ReviewedRun[]): Flag[] {
  const flags: Flag[] = [];
  let start = 0;
  for (let index = 1; index <= runs.length; index++) {
    if (index < runs.length && nearIdentical(runs[index]!, runs[start]!)) continue;
    if (index - start >= LOOP_REPEATS_MIN) {
      flags.push({
        kind: 'retry_loop',
        runs: runs.slice(start + 1, index).map((run) => run.id),
        detail: `${index - start} near-identical ${runs[start]!.operation} requests in a row`,
      });
    }
    start = index;
  }
  return flags;
}

/** Cycles of 2..CYCLE_PERIOD_MAX requests repeated CYCLE_REPEATS_MIN times or more: all after the first cycle. */
export function retryCycles(runs: readonly ReviewedRun[]): Flag[] {
  const flags: Flag[] = [];
  const flagged = new Set<number>();
  for (let period = 2; period <= CYCLE_PERIOD_MAX; period++) {
    let start = 0;
    for (let index = period; index <= runs.length; index++) {
      if (index < runs.length && nearIdentical(runs[index]!, runs[index - period]!)) continue;
      const span = index - start;
      const cycle = runs.slice(start, start + period);
      // A cycle of one request repeated is a loop, found by retryLoops; each position must differ from the next.
      const varied = cycle.every((run, position) => !nearIdentical(run, cycle[(position + 1) % period]!));
      if (span >= period * CYCLE_REPEATS_MIN && varied && !flagged.has(start + period)) {
        const repeated = runs.slice(start + period, index);
        for (let position = start + period; position < index; position++) flagged.add(position);
        flags.push({
          kind: 'retry_cycle',
          runs: repeated.map((run) => run.id),
          detail: `a cycle of ${period} requests (${cycle.map((run) => run.operation).join(', ')}) repeated ${Math.floor(span / period)} times`,
        });
      }
      start = Math.max(start + 1, index - period + 1);
    }
  }
  return flags;
}

/** The median of costs, or undefined when too few to call typical. */
export function typicalCost(costs: readonly bigint[]): bigint | undefined {
  if (costs.length < OUTLIER_SAMPLES_MIN) return undefined;
  const sorted = [...costs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor(sorted.length / 2)];
}

/** Every flag of a thread's runs (in order), against the account's typical costs and the incidents. */
export function reviewThread(
  runs: readonly ReviewedRun[],
  typical_by_operation: ReadonlyMap<string, bigint>,
  incidents: readonly {
    id: string;
    from_ms: number;
    to_ms: number;
    operations: readonly string[] | null;
    note: string;
  }[],
): Flag[] {
  const flags = [...retryLoops(runs), ...retryCycles(runs)];
  const failed = runs.filter((run) => run.outcome === 'failed' && run.credits_micros > 0n);
  if (failed.length > 0)
    flags.push({
      kind: 'failed_cost',
      runs: failed.map((run) => run.id),
      detail: 'failed runs that still cost credits',
    });
  const outliers = runs.filter((run) => {
    const typical = typical_by_operation.get(run.operation);
    return typical !== undefined && typical > 0n && run.credits_micros > typical * OUTLIER_FACTOR;
  });
  if (outliers.length > 0)
    flags.push({
      kind: 'outlier',
      runs: outliers.map((run) => run.id),
      detail: `runs costing more than ${OUTLIER_FACTOR} times the account's typical cost for the operation`,
    });
  for (const incident of incidents) {
    const during = runs.filter(
      (run) =>
        run.created_at_ms >= incident.from_ms &&
        run.created_at_ms < incident.to_ms &&
        (incident.operations === null || incident.operations.includes(run.operation)),
    );
    if (during.length > 0)
      flags.push({
        kind: 'incident',
        runs: during.map((run) => run.id),
        detail: `during incident ${incident.id}: ${incident.note}`,
      });
  }
  return flags;
}

/** A dimension of what a run produced rather than what it was asked (output_tokens, output_images…). */
const isOutput = (dimension: string) => dimension.startsWith('output');

/** Whether two runs asked the same thing: operation, model and every input dimension within the tolerance. */
export function sameRequest(a: ReviewedRun, b: ReviewedRun): boolean {
  const inputs = (run: ReviewedRun) =>
    Object.fromEntries(Object.entries(run.usage).filter(([dimension]) => !isOutput(dimension)));
  return nearIdentical({ ...a, usage: inputs(a) }, { ...b, usage: inputs(b) });
}

/** Whether a run produced nothing: its output dimensions are all zero (every dimension, when it has none). */
export function producedNothing(usage: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(usage);
  const outputs = entries.filter(([dimension]) => isOutput(dimension));
  return (outputs.length > 0 ? outputs : entries).every(([, quantity]) => Number(quantity) === 0);
}

/**
 * The no-progress policy (price book `no_progress`): a run that failed or produced nothing, after
 * `after_identical` runs of the same request just before it in its thread (newest first), costs
 * at most the rule's credits. Returns the cost to charge.
 */
export function noProgressCost(
  rule: { after_identical: number; micros: bigint } | undefined,
  run: ReviewedRun,
  before_newest_first: readonly ReviewedRun[],
  cost_micros: bigint,
): bigint {
  if (!rule || (run.outcome !== 'failed' && !producedNothing(run.usage))) return cost_micros;
  const recent = before_newest_first.slice(0, rule.after_identical);
  if (recent.length < rule.after_identical || !recent.every((earlier) => sameRequest(earlier, run)))
    return cost_micros;
  return rule.micros < cost_micros ? rule.micros : cost_micros;
}
