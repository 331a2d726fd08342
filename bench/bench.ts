/**
 * `npm run bench [-- --quick]`: Tally's hot path against the raw limits of this machine, measured
 * in the same run. Prints a table (each figure beside its baseline and the ratio) and writes
 * bench/results/latest.json, with bench/results/latest.svg drawing the same (bench/chart.ts). The
 * full run takes about seven minutes; --quick about one; --chart only redraws the chart of the last
 * run from its latest.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ESTIMATE_INPUT_TEXT_LENGTH_MAX, TOKENIZER_YIELD_CHARACTERS } from '../src/domain/limits.ts';
import { type RunningServer, startServer } from '../src/http/server.ts';
import { createTally, loadConfig } from '../src/index.ts';
import { compilePriceBook } from '../src/schema/config.ts';
import type { Tally } from '../src/service/tally.ts';
import { simulate } from '../src/simulate/simulate.ts';
import { generateTrace } from '../src/simulate/trace.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';
import { createDatabase, startPostgresServer } from '../test/postgres-server.ts';
import { httpBaseline, postgresBaseline, sqliteBaseline } from './baselines.ts';
import { type LoadPoint, type RatioBar, resultsChart } from './chart.ts';
import { startEngineThread } from './engine-thread.ts';
import { type HttpOperation, httpLoad } from './http-load.ts';
import { closedLoop, type Measured, sequential } from './measure.ts';
import { measureProxy } from './proxy-bench.ts';

const quick = process.argv.includes('--quick');
/** `--only sqlite,http,postgres,estimate` runs some sections, for working on one; such a run writes no results. */
const only_argument = process.argv.indexOf('--only');
const only = only_argument === -1 ? null : new Set(process.argv[only_argument + 1]?.split(','));
const selected = (section: 'sqlite' | 'http' | 'postgres' | 'estimate' | 'proxy') =>
  only === null || only.has(section);
const SIZE = quick
  ? { accounts: 1_000, duration_ms: 3_000, growth_charges: 100_000, reads: 300, trace_rows: 2_000 }
  : { accounts: 10_000, duration_ms: 15_000, growth_charges: 1_000_000, reads: 2_000, trace_rows: 20_000 };
const CALLERS = 64;
/** H1's open-loop arrival rates, as fractions of its closed-loop throughput: the latency curve's points. */
const OPEN_LOOP_LOADS = quick ? [0.1, 0.25, 0.5, 0.8] : [0.1, 0.2, 0.35, 0.5, 0.65, 0.8];
/** The goal for H1's p99 at half its throughput. */
const H1_P99_GOAL_MS = 5;
/** The longest one estimate may hold the event loop, however long its input text. */
const E_STALL_GOAL_MS = 50;
const CONFIG = { price_book: { operations: { run: { rates: { credits: '1' } } } } };
const directory = mkdtempSync(join(tmpdir(), 'tally-bench-'));

interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  baseline?: { id: string; value: number };
  ratio?: number;
  goal?: string;
  /** The ratio the goal asks for, where the goal is one. */
  goal_ratio?: number;
  met?: boolean;
}
const figures: Figure[] = [];
/** H1's latency as its arrival rate rises: the chart's second panel. */
const latency_by_load: LoadPoint[] = [];

/** What a run writes to bench/results/latest.json. */
interface Results {
  mode: 'quick' | 'full';
  at: string;
  machine: { cpus: number; model: string | undefined; node: string } & Record<string, unknown>;
  figures: Figure[];
  h1_latency_by_load: LoadPoint[];
}

function record(figure: Figure): void {
  figures.push(figure);
  const base = figure.baseline ? `${figure.baseline.id} ${format(figure.baseline.value)}` : '';
  const ratio = figure.ratio !== undefined ? figure.ratio.toFixed(3) : '';
  const verdict = figure.goal ? `${figure.goal} ${figure.met ? 'met' : 'MISSED'}` : '';
  console.log(
    `${figure.id.padEnd(22)} ${`${format(figure.value)} ${figure.unit}`.padEnd(22)} ${base.padEnd(26)} ${ratio.padEnd(8)} ${verdict}`,
  );
}
const format = (value: number) =>
  value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
const progress = (text: string) => process.stderr.write(`… ${text}\n`);

/** Accounts a0…aN, each with plenty of credits, created concurrently. */
async function seed(tally: Tally, accounts: number): Promise<void> {
  for (let start = 0; start < accounts; start += CALLERS) {
    await Promise.all(
      Array.from({ length: Math.min(CALLERS, accounts - start) }, async (_, offset) => {
        const id = `a${start + offset}`;
        await tally.putAccount({ id, kind: 'user' });
        await tally.issueGrant({ account: id, kind: 'bonus', amount: '100000000' });
      }),
    );
  }
}

interface PairRun {
  measured: Measured;
  acknowledged: number;
}

/** Closed-loop reserve → settle pairs; counts what was acknowledged, to check nothing acknowledged is lost. */
async function pairs(
  tally: Tally,
  accounts: number,
  callers: number,
  duration_ms: number,
  hot = false,
): Promise<PairRun> {
  let acknowledged = 0;
  // Every command under its own idempotency key, as the API asks clients to send them.
  const run_id = randomUUID();
  const measured = await closedLoop(callers, duration_ms, async (_caller, index) => {
    const account = hot ? 'a0' : `a${index % accounts}`;
    const reservation = await tally.reserve(
      { account, operation: 'run', max_credits: '3' },
      { idempotency_key: `${run_id}-${index}-reserve` },
    );
    await tally.settle(
      { reservation: reservation.id, usage: { credits: 2 } },
      { idempotency_key: `${run_id}-${index}-settle` },
    );
    acknowledged++;
  });
  return { measured, acknowledged };
}

/** Nothing overspent (verify finds every balance consistent) and every acknowledged settle is a stored charge. */
async function checkIntegrity(tally: Tally, runs: PairRun[], label: string): Promise<void> {
  const report = await tally.verify();
  const stored = await tally.store.read(async (transaction) => {
    let total = 0;
    for (const id of await transaction.listAccountIds(null, 1_000_000))
      total += (await transaction.listRecentCharges(id, 0, 10_000_000)).length;
    return total;
  });
  const acknowledged = runs.reduce((sum, run) => sum + run.acknowledged, 0);
  record({
    id: `${label} integrity`,
    label: 'verify problems + acknowledged settles missing',
    value: report.problems.length + Math.max(0, acknowledged - stored),
    unit: 'errors',
    goal: '= 0',
    met: report.ok && stored >= acknowledged,
  });
}

function ratioFigure(
  id: string,
  label: string,
  value: number,
  unit: string,
  baseline: { id: string; value: number },
  goal: number,
): void {
  const ratio = value / baseline.value;
  record({
    id,
    label,
    value,
    unit,
    baseline,
    ratio,
    goal: `≥ ${goal}`,
    goal_ratio: goal,
    met: ratio >= goal,
  });
}

/** p50 as the value, p99 beside it; with a goal, the p99 is what must stay under it. */
function latencyFigure(id: string, label: string, measured: Measured, p99_goal_ms?: number): void {
  record({
    id,
    label,
    value: measured.p50_ms,
    unit: `ms / ${measured.p99_ms.toFixed(2)} ms`,
    ...(p99_goal_ms === undefined
      ? {}
      : { goal: `p99 ≤ ${p99_goal_ms} ms`, met: measured.p99_ms <= p99_goal_ms }),
  });
}

/** A durable (or NORMAL) SQLite Tally in the run's directory (or `:memory:`), seeded with SIZE.accounts accounts. */
async function seededSqliteTally(
  file: string,
  synchronous: 'FULL' | 'NORMAL' = 'FULL',
  fsync: 'off-loop' | 'in-commit' = 'in-commit',
): Promise<Tally> {
  const tally = await createTally({
    store: new SqliteStore({
      filename: file === ':memory:' ? file : join(directory, file),
      synchronous,
      fsync,
    }),
    config: CONFIG,
  });
  await seed(tally, SIZE.accounts);
  return tally;
}

/** S1: rows per second of `tally simulate` (the real engine, in memory) on a generated trace. */
async function simulatorRowsPerSecond(rows: number): Promise<number> {
  const preset = new URL('../examples/prompt-marketplace.yaml', import.meta.url).pathname;
  const config = loadConfig(preset);
  const book = compilePriceBook(config.price_book_document);
  const operations = new Map(
    [...book.operations].map(([id, operation]) => [
      id,
      { example_usage: operation.example_usage, model: operation.models.keys().next().value },
    ]),
  );
  const trace = generateTrace(rows, config, operations, { accounts: 200 });
  const started = performance.now();
  await simulate(preset, trace);
  return rows / ((performance.now() - started) / 1000);
}

/** B-sqlite, E1, E2, R1, E1 at NORMAL and G1: the embedded store in process. */
/** E2's pairs per second, L1's baseline. */
let e2_per_second = 0;

async function sqliteSection(): Promise<void> {
  progress('B-sqlite: raw better-sqlite3');
  const b_sqlite = sqliteBaseline(join(directory, 'baseline.db'), SIZE.accounts, SIZE.duration_ms);
  record({
    id: 'B-sqlite',
    label: 'raw reserve+settle, 100 pairs a transaction, FULL',
    value: b_sqlite.per_second,
    unit: 'pairs/s',
  });

  progress(`E1: ${SIZE.accounts} accounts, ${CALLERS} callers, durable`);
  const e1_tally = await seededSqliteTally('e1.db');
  const e1 = await pairs(e1_tally, SIZE.accounts, CALLERS, SIZE.duration_ms);
  ratioFigure(
    'E1 durable',
    'in-process reserve+settle, synchronous=FULL',
    e1.measured.per_second,
    'pairs/s',
    { id: 'B-sqlite', value: b_sqlite.per_second },
    0.7,
  );
  latencyFigure('E1 latency p50/p99', 'per pair', e1.measured);

  progress('E2: one hot account');
  const e2 = await pairs(e1_tally, SIZE.accounts, CALLERS, SIZE.duration_ms, true);
  e2_per_second = e2.measured.per_second;
  ratioFigure(
    'E2 hot account',
    'one account, 64 callers',
    e2.measured.per_second,
    'pairs/s',
    { id: 'E1 durable', value: e1.measured.per_second },
    0.8,
  );
  await checkIntegrity(e1_tally, [e1, e2], 'E1+E2');

  progress(`S1: the simulator on a generated trace of ${format(SIZE.trace_rows)} rows`);
  const simulated = await simulatorRowsPerSecond(SIZE.trace_rows);
  ratioFigure(
    'S1 simulate',
    `tally simulate, rows/s on a ${format(SIZE.trace_rows)}-row trace (prompt marketplace)`,
    simulated,
    'rows/s',
    { id: 'E1 durable', value: e1.measured.per_second },
    0.8,
  );

  progress('R1: reads');
  const balance = await sequential(SIZE.reads, (index) =>
    e1_tally.getBalance(`a${index % SIZE.accounts}`).then(() => undefined),
  );
  latencyFigure('R1 balance p50/p99', 'balance read', balance);
  const estimate = await sequential(SIZE.reads, (index) =>
    e1_tally
      .estimate({ account: `a${index % SIZE.accounts}`, operation: 'run', usage: { credits: 2 } })
      .then(() => undefined),
  );
  latencyFigure('R1 estimate p50/p99', 'estimate', estimate);
  await e1_tally.close();

  // E1 with SQLite's other durability settings: NORMAL (not durable), and durable with the WAL
  // synced on the thread pool after each COMMIT, the event loop free meanwhile.
  const variants = [
    { id: 'E1 NORMAL', label: 'synchronous=NORMAL', synchronous: 'NORMAL', fsync: 'in-commit' },
    {
      id: 'E1 fsync off loop',
      label: 'durable, the WAL synced on the thread pool',
      synchronous: 'FULL',
      fsync: 'off-loop',
    },
  ] as const;
  for (const variant of variants) {
    progress(variant.id);
    const tally = await seededSqliteTally(
      `${variant.fsync}-${variant.synchronous}.db`,
      variant.synchronous,
      variant.fsync,
    );
    const run = await pairs(tally, SIZE.accounts, CALLERS, SIZE.duration_ms);
    ratioFigure(
      variant.id,
      `in-process reserve+settle, ${variant.label}`,
      run.measured.per_second,
      'pairs/s',
      { id: 'B-sqlite', value: b_sqlite.per_second },
      0.7,
    );
    await tally.close();
  }

  progress('G1: growth');
  const g_tally = await seededSqliteTally('g1.db');
  const connection = (g_tally.store as SqliteStore).connection;
  const insert = connection.prepare(
    `INSERT INTO charges (account_id, id, reservation_id, operation, model, add_ons_json, member, api_key_id, usage_json, credits_micros,
       uncollected_micros, allocations_json, outcome, price_version, metadata_json, refunded_micros, created_at_ms)
     VALUES (?, ?, NULL, 'run', NULL, '[]', NULL, NULL, '{"credits":"2"}', 2000000, 0, '[]', 'succeeded', 1, '{}', 0, ?)`,
  );
  const now = Date.now();
  connection.transaction(() => {
    for (let index = 0; index < SIZE.growth_charges; index++) {
      insert.run(
        `a${index % SIZE.accounts}`,
        `ch_grow_${String(index).padStart(8, '0')}`,
        BigInt(now - (SIZE.growth_charges - index) * 1000),
      );
    }
  })();
  const grown = await pairs(g_tally, SIZE.accounts, CALLERS, SIZE.duration_ms);
  ratioFigure(
    `G1 with ${format(SIZE.growth_charges)}`,
    'E1 on a database already holding the charges',
    grown.measured.per_second,
    'pairs/s',
    { id: 'E1 durable', value: e1.measured.per_second },
    0.8,
  );
  const page = await sequential(SIZE.reads, (index) =>
    g_tally.listCharges({ account: `a${index % SIZE.accounts}`, limit: 50 }).then(() => undefined),
  );
  record({
    id: 'G1 history page p99',
    label: 'a page of 50 charges',
    value: page.p99_ms,
    unit: 'ms',
    goal: '≤ 20 ms',
    met: page.p99_ms <= 20,
  });
  await g_tally.close();

  // L1: the hot account of E2 under a monthly limit, with a long month behind it. A limit reads
  // the month's spend from quarter-hour buckets summed in the database, not from its charges.
  progress('L1: a monthly limit over a month of charges');
  const l_tally = await createTally({
    store: new SqliteStore({ filename: join(directory, 'l1.db') }),
    config: { ...CONFIG, limits: [{ id: 'month', window: 'month', max: 1_000_000_000 }] },
  });
  await seed(l_tally, 1);
  const l_connection = (l_tally.store as SqliteStore).connection;
  const month_charges = SIZE.growth_charges / 10;
  const charge_insert = l_connection.prepare(
    `INSERT INTO charges (account_id, id, reservation_id, operation, model, add_ons_json, member, api_key_id, usage_json, credits_micros,
       uncollected_micros, allocations_json, outcome, price_version, metadata_json, refunded_micros, created_at_ms)
     VALUES ('a0', ?, NULL, 'run', NULL, '[]', NULL, NULL, '{"credits":"2"}', 2000000, 0, '[["gr_month","bonus","2000000"]]', 'succeeded', 1, '{}', 0, ?)`,
  );
  // What insertCharge keeps with each charge: its quarter hour's bucket.
  const bucket_add = l_connection.prepare(
    `INSERT INTO spend_buckets VALUES ('a0', ?, 'run', '', '', '', 'bonus', 2000000)
     ON CONFLICT DO UPDATE SET spent_micros = spent_micros + 2000000`,
  );
  const month_started = Date.now();
  l_connection.transaction(() => {
    for (let index = 0; index < month_charges; index++) {
      // Ten a second before now, all inside this month unless it began in the last few minutes.
      const at_ms = month_started - (month_charges - index) * 10;
      charge_insert.run(`ch_month_${String(index).padStart(8, '0')}`, BigInt(at_ms));
      bucket_add.run(BigInt(Math.floor(at_ms / 900_000) * 900_000));
    }
  })();
  const limited = await pairs(l_tally, 1, CALLERS, SIZE.duration_ms, true);
  ratioFigure(
    `L1 limit, ${format(month_charges)} charges`,
    "E2's hot account under a monthly limit, with a month of charges stored",
    limited.measured.per_second,
    'pairs/s',
    { id: 'E2 hot account', value: e2_per_second },
    0.8,
  );
  await l_tally.close();
}

/** The admin key H1's load authenticates with. */
const BENCH_ADMIN_KEY = 'sk_admin_bench_0123456789abcdef';

/** Serves `tally` over HTTP with the bench's admin key: the load of reserve+settle pairs to send it, and the server. */
async function servedPairs(tally: Tally): Promise<{ pair: HttpOperation; server: RunningServer }> {
  await tally.access.createKey({ scope: 'admin', name: 'bench', secret: BENCH_ADMIN_KEY });
  const server = await startServer({ tally, port: 0 });
  return {
    pair: { kind: 'pair', url: server.url, admin_key: BENCH_ADMIN_KEY, accounts: SIZE.accounts },
    server,
  };
}

/** B-http and H1: the HTTP API over loopback. */
async function httpSection(): Promise<void> {
  progress('B-http and H1: HTTP over loopback');
  const b_http = await httpBaseline(CALLERS, SIZE.duration_ms);
  record({
    id: 'B-http',
    label: 'bare JSON POST echo, 64 connections',
    value: b_http.per_second,
    unit: 'requests/s',
  });
  const h_tally = await seededSqliteTally('h1.db');
  const { pair, server } = await servedPairs(h_tally);
  const h1 = await httpLoad(pair, { kind: 'closed', concurrency: CALLERS, duration_ms: SIZE.duration_ms });
  ratioFigure(
    'H1 HTTP',
    'reserve+settle over HTTP, 64 connections',
    h1.per_second,
    'pairs/s',
    { id: 'B-http', value: b_http.per_second },
    0.4,
  );
  for (const load of OPEN_LOOP_LOADS) {
    const rate_per_second = h1.per_second * load;
    const open = await httpLoad(pair, { kind: 'open', rate_per_second, duration_ms: SIZE.duration_ms });
    latency_by_load.push({ load, rate_per_second, p50_ms: open.p50_ms, p99_ms: open.p99_ms });
    latencyFigure(
      `H1 at ${load * 100}% p50/p99`,
      `open loop at ${Math.round(rate_per_second)} pairs/s`,
      open,
      load === 0.5 ? H1_P99_GOAL_MS : undefined,
    );
  }
  const within_goal = latency_by_load.filter((point) => point.p99_ms <= H1_P99_GOAL_MS);
  record({
    id: `H1 p99 ≤ ${H1_P99_GOAL_MS} ms up to`,
    label: 'the highest measured arrival rate whose p99 stays within the goal',
    value: Math.max(0, ...within_goal.map((point) => point.rate_per_second)),
    unit: 'pairs/s',
  });
  await server.close();
  await h_tally.close();

  // The same half load where the disk waits elsewhere or not at all: the WAL synced on the thread
  // pool (durable, the event loop free during each fsync); no fsync (NORMAL, not durable); no disk
  // (in memory). The last two bound what moving the sync anywhere could give the tail.
  const half_load_variants = [
    {
      id: 'H1 50%, fsync off loop',
      label: 'the WAL synced on the thread pool',
      file: 'h1-off-loop.db',
      synchronous: 'FULL',
      fsync: 'off-loop',
    },
    {
      id: 'H1 50%, NORMAL',
      label: 'no fsync (not durable)',
      file: 'h1-normal.db',
      synchronous: 'NORMAL',
      fsync: 'in-commit',
    },
    {
      id: 'H1 50%, in memory',
      label: 'no disk at all',
      file: ':memory:',
      synchronous: 'FULL',
      fsync: 'in-commit',
    },
  ] as const;
  for (const variant of half_load_variants) {
    const variant_tally = await seededSqliteTally(variant.file, variant.synchronous, variant.fsync);
    const served = await servedPairs(variant_tally);
    const measured = await httpLoad(served.pair, {
      kind: 'open',
      rate_per_second: h1.per_second * 0.5,
      duration_ms: SIZE.duration_ms,
    });
    latencyFigure(variant.id, `the half-load point, ${variant.label}`, measured);
    await served.server.close();
    await variant_tally.close();
  }

  // The engine — store, commands and COMMIT — on a worker thread, the HTTP server on this one
  // (engine-thread.ts): its closed-loop throughput against H1's, and the same half load.
  progress('H1 with the engine on a worker thread');
  const engine = await startEngineThread({ filename: join(directory, 'h1-thread.db'), config: CONFIG });
  await seed(engine.tally, SIZE.accounts);
  const { pair: threaded, server: engine_server } = await servedPairs(engine.tally);
  const h1_thread = await httpLoad(threaded, {
    kind: 'closed',
    concurrency: CALLERS,
    duration_ms: SIZE.duration_ms,
  });
  ratioFigure(
    'H1 engine thread',
    'reserve+settle over HTTP, the engine on a worker thread',
    h1_thread.per_second,
    'pairs/s',
    { id: 'H1 HTTP', value: h1.per_second },
    1,
  );
  const thread_half = await httpLoad(threaded, {
    kind: 'open',
    rate_per_second: h1.per_second * 0.5,
    duration_ms: SIZE.duration_ms,
  });
  latencyFigure('H1 50%, engine thread', "H1's half-load point, the engine on a worker thread", thread_half);
  await engine_server.close();
  await engine.close();
}

/**
 * E-stall: the longest the event loop is held while one estimate counts the tokens of the most
 * input text it accepts, as one run of a single character (the input whose tokenizing grew with
 * the square of its length and held the server for 18 s at 200k characters). The baseline is
 * tokenizing ordinary prose of the yield unit's length in one call: the slice of work between two
 * turns the event loop gets.
 */
async function estimateSection(): Promise<void> {
  progress('E-stall: the event loop during a maximal estimate');
  const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
  const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(
    Math.ceil(TOKENIZER_YIELD_CHARACTERS / 45),
  );
  countTokens(prose); // loads the encoding
  const slice_started = performance.now();
  countTokens(prose.slice(0, TOKENIZER_YIELD_CHARACTERS));
  const slice_ms = performance.now() - slice_started;
  const tally = await createTally({
    config: {
      price_book: { operations: { chat: { rates: { input_tokens: '0.001', output_tokens: '0.002' } } } },
    },
  });
  await tally.putAccount({ id: 'writer', kind: 'user' });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  await tally.estimate({
    account: 'writer',
    operation: 'chat',
    model: 'gpt-4o',
    input_text: 'a'.repeat(ESTIMATE_INPUT_TEXT_LENGTH_MAX),
  });
  const total_ms = performance.now() - started;
  delay.disable();
  await tally.close();
  const stall_ms = delay.max / 1e6;
  record({
    id: 'B-tokenize',
    label: `${TOKENIZER_YIELD_CHARACTERS} characters of prose tokenized in one call`,
    value: slice_ms,
    unit: 'ms',
  });
  record({
    id: 'E-stall',
    label: `longest event-loop stall, estimate of ${ESTIMATE_INPUT_TEXT_LENGTH_MAX} repeated characters (${Math.round(total_ms)} ms in all)`,
    value: stall_ms,
    unit: 'ms',
    baseline: { id: 'B-tokenize', value: slice_ms },
    ratio: stall_ms / slice_ms,
    goal: `≤ ${E_STALL_GOAL_MS} ms`,
    met: stall_ms <= E_STALL_GOAL_MS,
  });
}

/** X1: what the metering proxy adds to a call, against the same call sent straight to the provider. */
async function proxySection(): Promise<void> {
  progress('X1: the metering proxy against direct calls');
  const { direct, proxied, half_load_rate } = await measureProxy({
    count: quick ? 300 : 2_000,
    duration_ms: quick ? 2_000 : 8_000,
    concurrency: 16,
  });
  for (const kind of ['whole', 'streamed'] as const) {
    const p50 = proxied[kind].p50_ms - direct[kind].p50_ms;
    const p99 = proxied[kind].p99_ms - direct[kind].p99_ms;
    record({
      id: `X1 ${kind} added`,
      label: `latency the proxy adds to a ${kind === 'whole' ? 'non-streaming' : 'streaming'} call, one at a time, p50 (p99 beside it)`,
      value: p50,
      unit: `ms / ${p99.toFixed(2)} ms`,
      baseline: { id: 'B-direct p50', value: direct[kind].p50_ms },
      ratio: proxied[kind].p50_ms / direct[kind].p50_ms,
      goal: '< 1 ms p50',
      met: p50 < 1,
    });
  }
  const half_load_added = proxied.half_load.p99_ms - direct.half_load.p99_ms;
  record({
    id: 'X1 p99 at half load',
    label: `p99 the proxy adds at half its throughput (${half_load_rate} non-streaming calls/s, open loop)`,
    value: half_load_added,
    unit: 'ms',
    baseline: { id: 'B-direct p99', value: direct.half_load.p99_ms },
    ratio: proxied.half_load.p99_ms / direct.half_load.p99_ms,
    goal: '< 5 ms',
    met: half_load_added < 5,
  });
  ratioFigure(
    'X1 throughput',
    'proxied calls per second against direct, 16 callers',
    proxied.throughput.per_second,
    'calls/s',
    { id: 'B-direct', value: direct.throughput.per_second },
    0.5,
  );
}

/** B-pg, P1 and P2: the PostgreSQL store. */
async function postgresSection(): Promise<void> {
  progress('PostgreSQL: B-pg, P1, P2');
  const postgres = await startPostgresServer();
  try {
    for (const [id, pool_size, hot] of [
      ['P1', 8, false],
      ['P2 hot account', 16, true],
    ] as const) {
      const url = await createDatabase(postgres.url);
      const baseline = await postgresBaseline(url, pool_size, SIZE.accounts, hot, SIZE.duration_ms);
      const baseline_id = hot ? 'B-pg hot' : 'B-pg';
      record({
        id: baseline_id,
        label: `raw pg CTEs, pool of ${pool_size}`,
        value: baseline.per_second,
        unit: 'pairs/s',
      });
      const store: Store = await PostgresStore.open({ url, pool_size });
      const tally = await createTally({ store, config: CONFIG });
      await seed(tally, hot ? 1 : SIZE.accounts);
      const run = await pairs(tally, hot ? 1 : SIZE.accounts, pool_size * 4, SIZE.duration_ms, hot);
      ratioFigure(
        id,
        `Tally on PostgreSQL, pool of ${pool_size}`,
        run.measured.per_second,
        'pairs/s',
        { id: baseline_id, value: baseline.per_second },
        1.0,
      );
      await checkIntegrity(tally, [run], id);
      await tally.close();
    }
  } finally {
    await postgres.stop();
  }
}

/** The results as a chart: each ratio against its goal, and H1's latency curve. */
function drawChart(results: Results): Promise<string> {
  const ratios: RatioBar[] = results.figures.flatMap((figure) =>
    figure.ratio === undefined || figure.goal_ratio === undefined
      ? []
      : [{ id: figure.id, ratio: figure.ratio, goal: figure.goal_ratio, met: figure.met === true }],
  );
  const { machine } = results;
  return resultsChart({
    title: `Tally bench (${results.mode}), ${machine.cpus} × ${machine.model}, Node ${machine.node}, ${results.at.slice(0, 10)}`,
    ratios,
    latency_by_load: results.h1_latency_by_load,
    p99_goal_ms: H1_P99_GOAL_MS,
  });
}

const RESULTS = new URL('results/latest.json', import.meta.url);
const CHART = new URL('results/latest.svg', import.meta.url);

async function main(): Promise<void> {
  if (process.argv.includes('--chart')) {
    // Redraws the chart of the last run, measuring nothing (after a change to bench/chart.ts).
    writeFileSync(CHART, await drawChart(JSON.parse(readFileSync(RESULTS, 'utf8')) as Results));
    console.log('wrote bench/results/latest.svg from latest.json');
    return;
  }
  console.log(
    `Tally benchmarks (${quick ? 'quick' : 'full'}): ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(
    `${'figure'.padEnd(22)} ${'value'.padEnd(22)} ${'baseline'.padEnd(26)} ${'ratio'.padEnd(8)} goal`,
  );

  if (selected('sqlite')) await sqliteSection();
  if (selected('http')) await httpSection();
  if (selected('postgres')) await postgresSection();
  if (selected('estimate')) await estimateSection();
  if (selected('proxy')) await proxySection();
  if (only !== null) return;

  mkdirSync(new URL('results', import.meta.url), { recursive: true });
  const results: Results = {
    mode: quick ? 'quick' : 'full',
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memory_gib: Math.round(totalmem() / 2 ** 30),
      free_gib: Math.round(freemem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    figures,
    h1_latency_by_load: latency_by_load,
  };
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(CHART, await drawChart(results));
  console.log(
    `\nwrote bench/results/latest.json and latest.svg (${figures.filter((figure) => figure.met === false).length} goal(s) missed)`,
  );
}

try {
  await main();
} finally {
  rmSync(directory, { recursive: true, force: true });
}
