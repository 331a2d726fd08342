/**
 * `tally simulate`: a plan's fairness before it ships (SPEC C16). Replays a usage trace through
 * the real engine in memory and reports breakage, money per credit, cost per usable output and
 * refusals; `--compare` runs a second configuration on the same trace, `--report` writes an HTML
 * page with charts, `--generate N` writes a sample trace.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../index.ts';
import { compilePriceBook } from '../../schema/config.ts';
import { reportHtml } from '../../simulate/report-html.ts';
import { paidMoney, type SimulationReport, simulate } from '../../simulate/simulate.ts';
import { generateTrace, TraceError } from '../../simulate/trace.ts';
import { CliError } from '../errors.ts';
import type { Cli } from '../program.ts';
import { startProgress } from '../progress.ts';
import { columns } from '../render.ts';

/** Accounts listed under "changes most" with --compare. */
const CHANGED_ACCOUNTS_SHOWN = 10;

interface SimulateOptions {
  config?: string;
  trace?: string;
  compare?: string;
  json?: boolean;
  report?: string;
  generate?: string;
  out?: string;
  seed?: string;
}

const kinds = (record: Record<string, string>) =>
  Object.entries(record)
    .map(([kind, credits]) => `${kind} ${credits}`)
    .join(', ') || '—';

function summaryLines(report: SimulationReport): string[] {
  const total = report.total;
  const refused = Object.entries(total.refused)
    .sort((a, b) => b[1] - a[1])
    .map(([cause, count]) => `${cause} ×${count}`)
    .join(', ');
  return [
    `${report.config}: ${report.rows} rows, ${report.accounts.length} accounts, ${report.from} → ${report.to}`,
    ...columns(
      ['', 'credits by kind'],
      [
        ['granted', kinds(total.granted)],
        ['bought', kinds(total.bought)],
        ['used', kinds(total.used)],
        ['expired (breakage)', kinds(total.expired)],
      ],
      new Set(),
    ),
    `money paid: ${report.currency} ${paidMoney(report.currency, total.paid_minor)}; per credit used: ${total.money_per_credit ?? '—'}`,
    `runs: ${total.runs}, usable outputs: ${total.usable_outputs}, credits per usable output: ${total.credits_per_usable_output ?? '—'}`,
    `spend on failed runs: ${(Number(total.failed_share) * 100).toFixed(2)} %`,
    `refused: ${refused || 'none'}`,
  ];
}

/** The accounts whose credits used and refusals differ most between two runs of one trace. */
function changedMost(a: SimulationReport, b: SimulationReport): string[][] {
  const other = new Map(b.accounts.map((account) => [account.account, account]));
  const refusals = (refused: Record<string, number>) => Object.values(refused).reduce((sum, n) => sum + n, 0);
  return a.accounts
    .map((left) => {
      const right = other.get(left.account)!;
      const used_change = Number(right.credits_used) - Number(left.credits_used);
      const refused_change = refusals(right.refused) - refusals(left.refused);
      return { account: left.account, left, right, used_change, refused_change };
    })
    .sort(
      (x, y) =>
        Math.abs(y.refused_change) - Math.abs(x.refused_change) ||
        Math.abs(y.used_change) - Math.abs(x.used_change),
    )
    .slice(0, CHANGED_ACCOUNTS_SHOWN)
    .filter((change) => change.used_change !== 0 || change.refused_change !== 0)
    .map((change) => [
      change.account,
      change.left.credits_used,
      change.right.credits_used,
      String(refusals(change.left.refused)),
      String(refusals(change.right.refused)),
    ]);
}

export function registerSimulateCommand(program: Command, { output }: Cli): void {
  program
    .command('simulate')
    .description(
      'replay a usage trace through the real engine in memory and report what the plan does to people',
    )
    .option('--config <file>', 'the configuration to simulate (a file or a preset name)')
    .option(
      '--trace <file>',
      'the usage trace (CSV: timestamp, account, timezone, operation, model, usage…, outcome, usable, pack, plan)',
    )
    .option('--compare <file>', 'a second configuration to run on the same trace, side by side')
    .option('--json', 'print the report as JSON')
    .option('--report <file>', 'write a self-contained HTML report with charts')
    .option('--generate <rows>', 'write a sample trace of this many rows for --config instead')
    .option('--out <file>', 'with --generate: where to write the trace (default: standard output)')
    .option('--seed <n>', 'with --generate: the random seed', '1')
    .action(async (options: SimulateOptions) => {
      if (!options.config)
        throw new CliError('name the configuration to simulate with --config FILE (or a preset)');
      if (options.generate !== undefined) {
        const rows = Number(options.generate);
        if (!Number.isInteger(rows) || rows < 1 || rows > 10_000_000)
          throw new CliError('--generate takes a number of rows from 1 to 10,000,000');
        const config = loadConfig(options.config);
        const book = compilePriceBook(config.price_book_document);
        const operations = new Map(
          [...book.operations].map(([id, operation]) => [
            id,
            { example_usage: operation.example_usage, model: operation.models.keys().next().value },
          ]),
        );
        const trace = generateTrace(rows, config, operations, { seed: Number(options.seed) });
        if (options.out) {
          writeFileSync(options.out, trace);
          output.log(`wrote ${rows} rows to ${options.out}`);
        } else process.stdout.write(trace);
        return;
      }
      if (!options.trace)
        throw new CliError('name the usage trace with --trace FILE (or make one with --generate N)');
      if (!existsSync(options.trace)) throw new CliError(`no trace at ${options.trace}`);
      const text = readFileSync(options.trace, 'utf8');
      const run = async (config: string) => {
        let progress: ReturnType<typeof startProgress> | undefined;
        const ticker = { tick: () => progress?.tick(), stop: () => progress?.stop() };
        try {
          return await simulate(config, text, {
            progress: ticker,
            onRows: (rows) => (progress = startProgress(`simulating ${config}`, rows)),
          });
        } catch (error) {
          progress?.stop();
          if (error instanceof TraceError) throw new CliError(`${options.trace}: ${error.message}`);
          throw error;
        }
      };
      const reports = [await run(options.config)];
      if (options.compare) reports.push(await run(options.compare));
      if (options.report) writeFileSync(options.report, reportHtml(reports));
      if (options.json) {
        output.log(
          JSON.stringify(reports.length === 1 ? reports[0] : { a: reports[0], b: reports[1] }, null, 2),
        );
        return;
      }
      for (const report of reports) {
        for (const line of summaryLines(report)) output.log(line);
        output.log('');
      }
      if (reports.length === 2) {
        const changed = changedMost(reports[0]!, reports[1]!);
        output.log(
          changed.length === 0 ? 'no account fares differently' : 'accounts whose outcome changes most:',
        );
        if (changed.length > 0)
          for (const line of columns(
            ['account', 'used (a)', 'used (b)', 'refused (a)', 'refused (b)'],
            changed,
            new Set([1, 2, 3, 4]),
          ))
            output.log(line);
      }
      if (options.report) output.log(`report written to ${options.report}`);
    });
}
