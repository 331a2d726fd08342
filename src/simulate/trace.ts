/**
 * Usage traces for `tally simulate` (SPEC C16): a CSV of what accounts did, one row each, read
 * and checked whole before anything runs. Columns:
 *
 *   timestamp   RFC 3339, the row's instant (rows run in time order; ties keep file order)
 *   account     the account id; it is created (a user) the first time it appears
 *   timezone    optional, the account's IANA timezone when it is created
 *   operation   a run of this operation of the price book…
 *   model       …with this model (optional)
 *   outcome     succeeded (default), failed or rejected
 *   usable      yes (default) or no: whether the output was of use to the person
 *   pack        instead of a run: a purchase of this pack
 *   plan        instead of a run: a subscription to this plan
 *   creator     optional, whose prompt or app the run is of (an account, created when missing)
 *   thread      optional, the run's thread (the no-progress rule looks at it)
 *   project     optional, the run's project
 *   any other   a usage dimension of the run (input_tokens, output_tokens, images…)
 */
import { parse } from 'csv-parse/sync';
import { canonicalTimezone } from '../domain/calendar.ts';
import { parseDecimal } from '../domain/decimal.ts';
import { USAGE_DECIMALS_MAX } from '../domain/limits.ts';
import type { TallyConfig } from '../schema/config.ts';

/** The columns that are not usage dimensions, in the order a generated trace writes them. */
const FIXED_COLUMNS = [
  'timestamp',
  'account',
  'timezone',
  'operation',
  'model',
  'outcome',
  'usable',
  'pack',
  'plan',
  'creator',
  'thread',
  'project',
];
const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Problems listed at most, with their line numbers. */
const TRACE_PROBLEMS_SHOWN = 10;

export type TraceRow =
  | {
      kind: 'run';
      line: number;
      at_ms: number;
      account: string;
      timezone: string | undefined;
      operation: string;
      model: string | undefined;
      usage: Record<string, string>;
      outcome: 'succeeded' | 'failed' | 'rejected';
      usable: boolean;
      creator: string | undefined;
      thread: string | undefined;
      project: string | undefined;
    }
  | {
      kind: 'purchase';
      line: number;
      at_ms: number;
      account: string;
      timezone: string | undefined;
      pack: string;
    }
  | {
      kind: 'subscribe';
      line: number;
      at_ms: number;
      account: string;
      timezone: string | undefined;
      plan: string;
    };

/** A trace that cannot run: every problem found, each with its line. */
export class TraceError extends Error {
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? (problems[0] as string)
        : `${problems.length} problems in the trace:\n  ${problems.slice(0, TRACE_PROBLEMS_SHOWN).join('\n  ')}${problems.length > TRACE_PROBLEMS_SHOWN ? `\n  … and ${problems.length - TRACE_PROBLEMS_SHOWN} more` : ''}`,
    );
    this.name = 'TraceError';
  }
}

/** Reads a trace against a configuration: every row checked, then sorted by time. Throws TraceError. */
export function parseTrace(text: string, config: TallyConfig, operations: ReadonlySet<string>): TraceRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, info: false });
  } catch (error) {
    throw new TraceError([`the trace is not valid CSV: ${(error as Error).message}`]);
  }
  if (records.length === 0)
    throw new TraceError(['the trace is empty: give a header line and at least one row']);
  const header = Object.keys(records[0]!);
  for (const column of ['timestamp', 'account'])
    if (!header.includes(column)) throw new TraceError([`the trace has no ${column} column (line 1)`]);
  const dimensions = header.filter((column) => !FIXED_COLUMNS.includes(column));
  const problems: string[] = [];
  const rows: TraceRow[] = [];
  for (const [index, record] of records.entries()) {
    const read = readRow(record, index + 2, dimensions, config, operations);
    if (typeof read === 'string') problems.push(read);
    else rows.push(read);
  }
  if (problems.length > 0) throw new TraceError(problems);
  // Stable: rows of one instant keep the order of the file.
  return rows.sort((a, b) => a.at_ms - b.at_ms);
}

/** One row of a trace, checked: the row, or what is wrong with it (with its line). */
function readRow(
  record: Record<string, string>,
  line: number,
  dimensions: readonly string[],
  config: TallyConfig,
  operations: ReadonlySet<string>,
): TraceRow | string {
  const fail = (message: string) => `line ${line}: ${message}`;
  const at_ms = Date.parse(record.timestamp ?? '');
  if (!/^\d{4}-\d{2}-\d{2}T/.test(record.timestamp ?? '') || Number.isNaN(at_ms))
    return fail(`timestamp "${record.timestamp}" is not an RFC 3339 time`);
  const account = record.account ?? '';
  if (!ACCOUNT_ID.test(account)) return fail(`account "${account}" is not an account id`);
  const timezone = record.timezone || undefined;
  if (timezone !== undefined && canonicalTimezone(timezone) === undefined)
    return fail(`timezone "${timezone}" is not an IANA timezone`);
  const base = { line, at_ms, account, timezone };
  if (record.pack) {
    if (!config.packs.packs.some((pack) => pack.id === record.pack))
      return fail(
        `pack "${record.pack}" is not one of the configuration's packs (${config.packs.packs.map((pack) => pack.id).join(', ') || 'none'})`,
      );
    return { ...base, kind: 'purchase', pack: record.pack };
  }
  if (record.plan) {
    if (!config.plans.has(record.plan))
      return fail(
        `plan "${record.plan}" is not one of the configuration's plans (${[...config.plans.keys()].join(', ') || 'none'})`,
      );
    return { ...base, kind: 'subscribe', plan: record.plan };
  }
  const operation = record.operation ?? '';
  if (!operations.has(operation))
    return fail(`operation "${operation}" is not in the price book (${[...operations].join(', ')})`);
  const outcome = record.outcome || 'succeeded';
  if (outcome !== 'succeeded' && outcome !== 'failed' && outcome !== 'rejected')
    return fail(`outcome "${outcome}" is not succeeded, failed or rejected`);
  const usable = record.usable || 'yes';
  if (usable !== 'yes' && usable !== 'no') return fail(`usable "${usable}" is not yes or no`);
  if (record.creator && !ACCOUNT_ID.test(record.creator))
    return fail(`creator "${record.creator}" is not an account id`);
  const usage: Record<string, string> = {};
  for (const dimension of dimensions) {
    const value = record[dimension];
    if (value === undefined || value === '') continue;
    const parsed = parseDecimal(value, USAGE_DECIMALS_MAX);
    if (!parsed.ok || parsed.value.units < 0n)
      return fail(`${dimension} "${value}" is not a non-negative number`);
    usage[dimension] = value;
  }
  return {
    ...base,
    kind: 'run',
    operation,
    model: record.model || undefined,
    usage,
    outcome,
    usable: usable === 'yes',
    creator: record.creator || undefined,
    thread: record.thread || undefined,
    project: record.project || undefined,
  };
}

/** A small deterministic PRNG (mulberry32), so a generated trace is the same for the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A sample trace of `rows` runs for a configuration: 20 accounts in a few timezones over 60
 * days (so that monthly credits both renew and expire), running the price book's operations at around their example usage, some failing, a few
 * buying the first pack or subscribing to the first plan.
 */
export function generateTrace(
  rows: number,
  config: TallyConfig,
  operations: ReadonlyMap<
    string,
    { example_usage: ReadonlyMap<string, { units: bigint; scale: number }>; model: string | undefined }
  >,
  options: { start_ms?: number; seed?: number; accounts?: number; days?: number } = {},
): string {
  const next = random(options.seed ?? 1);
  const start_ms = options.start_ms ?? Date.UTC(2027, 0, 4);
  const accounts = options.accounts ?? 20;
  const zones = ['UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Asia/Kolkata'];
  const ids = [...operations.keys()];
  const dimensions = [...new Set(ids.flatMap((id) => [...operations.get(id)!.example_usage.keys()]))];
  const lines = [[...FIXED_COLUMNS, ...dimensions].join(',')];
  const span_ms = (options.days ?? 60) * 86_400_000;
  const pack = config.packs.packs[0]?.id;
  const plan = [...config.plans.keys()][0];
  for (let index = 0; index < rows; index++) {
    const at = new Date(start_ms + Math.floor((index / rows) * span_ms)).toISOString();
    const account = `user-${String(Math.floor(next() * accounts)).padStart(2, '0')}`;
    const zone = zones[Number(account.slice(5)) % zones.length]!;
    const roll = next();
    if (roll < 0.01 && pack) {
      lines.push(
        [at, account, zone, '', '', '', '', pack, '', '', '', '', ...dimensions.map(() => '')].join(','),
      );
      continue;
    }
    if (roll < 0.03 && plan) {
      lines.push(
        [at, account, zone, '', '', '', '', '', plan, '', '', '', ...dimensions.map(() => '')].join(','),
      );
      continue;
    }
    const id = ids[Math.floor(next() * ids.length)]!;
    const operation = operations.get(id)!;
    const failed = next() < 0.05;
    const usage = dimensions.map((dimension) => {
      const example = operation.example_usage.get(dimension);
      if (!example) return '';
      // 0.5× to 1.5× the example, whole units.
      const scaled = (Number(example.units) / 10 ** example.scale) * (0.5 + next());
      return String(Math.max(0, Math.round(scaled)));
    });
    lines.push(
      [
        at,
        account,
        zone,
        id,
        operation.model ?? '',
        failed ? 'failed' : 'succeeded',
        failed || next() < 0.05 ? 'no' : 'yes',
        '',
        '',
        // One run in five is of another person's work; each person's runs of a day share a thread.
        next() < 0.2 ? `user-${String(Math.floor(next() * accounts)).padStart(2, '0')}` : '',
        `${account}-${at.slice(0, 10)}`,
        '',
        ...usage,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
