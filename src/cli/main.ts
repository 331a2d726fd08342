/**
 * The `tally` command line: a thin edge over the library. It parses arguments, calls the
 * service, and prints; no ledger logic lives here.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { isTallyError } from '../domain/results.ts';
import { ConfigError } from '../schema/config.ts';
import { TallyApiError } from '../sdk/client.ts';
import { type BackendOptions, withBackend, withTally } from './backend.ts';
import { runDemo } from './demo.ts';
import { importConfiguration } from './import.ts';
import { type Progress, startProgress } from './progress.ts';
import { columns, renderPriceTable } from './render.ts';
import { serveUntilStopped } from './serve.ts';

const DEFAULT_DATABASE = './data/tally.db';
/** The package's version: from src/cli/ and from dist/cli/ alike, package.json is two folders up. */
const TALLY_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

type EngineOptions = BackendOptions;

const engineOptions = (command: Command) =>
  command
    .option('--db <file>', 'SQLite database file', DEFAULT_DATABASE)
    .option('--database-url <url>', 'postgres://… to run on PostgreSQL (or DATABASE_URL)')
    .option('--config <file>', 'tally.config.yaml (default: the prompt-marketplace example)');

/** Commands that can act on a running server instead of the local file. */
const remoteOptions = (command: Command) =>
  engineOptions(command)
    .option('--url <url>', 'act on a running Tally server through its API (or TALLY_URL)')
    .option('--key <key>', 'the secret key or customer token for --url (or TALLY_KEY)');

export function buildProgram(output: { log: (line: string) => void; error: (line: string) => void }): {
  program: Command;
  exit_code: () => number;
} {
  let exit_code = 0;
  const program = new Command('tally')
    .description('Tally, the credits engine for AI products')
    .version(TALLY_VERSION, '-V, --version', 'the version of Tally')
    .exitOverride();
  program.configureOutput({
    writeOut: (text) => output.log(text.trimEnd()),
    writeErr: (text) => output.error(text.trimEnd()),
  });

  engineOptions(program.command('verify'))
    .description('check the ledger: balanced transactions, grant balances, holds, the hash chain')
    .option('--json', 'print the report as JSON')
    .action(async (options: EngineOptions & { json?: boolean }) => {
      const report = await withTally(options, (tally) => {
        let progress: Progress | undefined;
        return tally
          .verify({
            start: (total) => (progress = startProgress('verifying accounts', total)),
            tick: () => progress?.tick(),
          })
          .finally(() => progress?.stop());
      });
      if (options.json) output.log(JSON.stringify(report, null, 2));
      else {
        for (const problem of report.problems)
          output.error(`✗ ${problem.account} [${problem.check}] ${problem.message}`);
        output.log(
          `${report.ok ? '✓ ledger verified' : `✗ ${report.problems.length} problem(s) found`}: ` +
            `${report.accounts} account(s), ${report.transactions} journal transaction(s)`,
        );
      }
      exit_code = report.ok ? 0 : 1;
    });

  remoteOptions(program.command('balance'))
    .description("print an account's balance by kind")
    .argument('<account>')
    .option('--json', 'print the balance as JSON')
    .action(async (account: string, options: EngineOptions & { json?: boolean }) => {
      const balance = await withBackend(options, (backend) => backend.balance(account));
      if (options.json) return output.log(JSON.stringify(balance, null, 2));
      output.log(`${account}: ${balance.available} credits available, ${balance.held} held`);
      for (const [kind, amounts] of Object.entries(balance.by_kind)) {
        if (amounts.available !== '0' || amounts.held !== '0')
          output.log(`  ${kind.padEnd(14)} ${amounts.available.padStart(14)}  held ${amounts.held}`);
      }
      if (balance.next_expiry)
        output.log(`  next expiry: ${balance.next_expiry.amount} credits at ${balance.next_expiry.at}`);
    });

  remoteOptions(program.command('grant'))
    .description('grant credits to an account')
    .argument('<account>')
    .argument('<kind>')
    .argument('<amount>', 'credits, e.g. 100 or 12.5')
    .option('--expires-at <time>', 'RFC 3339 expiry')
    .option('--reason <text>')
    .option('--idempotency-key <key>')
    .option('--json', 'print the grant as JSON')
    .action(
      async (
        account: string,
        kind: string,
        amount: string,
        options: EngineOptions & {
          expiresAt?: string;
          reason?: string;
          idempotencyKey?: string;
          json?: boolean;
        },
      ) => {
        const grant = await withBackend(options, (backend) =>
          backend.issueGrant(
            { account, kind, amount, expires_at: options.expiresAt, reason: options.reason },
            { idempotency_key: options.idempotencyKey },
          ),
        );
        if (options.json) output.log(JSON.stringify(grant, null, 2));
        else output.log(`granted ${grant.amount} ${grant.kind} credits to ${account} (${grant.id})`);
      },
    );

  program
    .command('prices')
    .description('print the public price table: credit value, every operation, its rates and an example cost')
    .option('--config <file>', 'tally.config.yaml (default: the prompt-marketplace example)')
    .option(
      '--db <file>',
      'read the version in force from this database instead of the configuration alone',
      ':memory:',
    )
    .option('--price-version <number>', 'a published version instead of the one in force')
    .option('--url <url>', 'read the table of a running Tally server (or TALLY_URL)')
    .option('--json', 'print the table as JSON')
    .action(async (options: EngineOptions & { priceVersion?: string; json?: boolean }) => {
      const table = await withBackend(options, (backend) =>
        backend.prices(options.priceVersion === undefined ? undefined : Number(options.priceVersion)),
      );
      if (options.json) output.log(JSON.stringify(table, null, 2));
      else for (const line of renderPriceTable(table)) output.log(line);
    });

  program
    .command('serve')
    .description('run the HTTP API (and /docs) on the embedded SQLite file')
    .option('--config <file>', 'tally.config.yaml (default: the prompt-marketplace example)')
    .option('--db <file>', 'SQLite database file', DEFAULT_DATABASE)
    .option('--database-url <url>', 'postgres://… to run on PostgreSQL (or DATABASE_URL)')
    .option(
      '--port <number>',
      'port to listen on (PORT in the environment works too)',
      process.env.PORT ?? '8787',
    )
    .option('--hostname <address>', 'address to listen on', '127.0.0.1')
    .option('--test-clock', 'start a movable test clock and expose /v1/test/clock (never in production)')
    .option('--demo', 'seed a demo account and print an admin key and a customer token for it')
    .action(
      async (
        options: EngineOptions & { port: string; hostname: string; testClock?: boolean; demo?: boolean },
      ) => {
        await serveUntilStopped(options, output);
      },
    );

  remoteOptions(program.command('charges'))
    .description("print an account's charges, newest first (all of them with --csv)")
    .argument('<account>')
    .option('--from <time>', 'RFC 3339, inclusive')
    .option('--to <time>', 'RFC 3339, exclusive')
    .option('--operation <id>')
    .option('--thread <id>')
    .option('--project <id>')
    .option('--limit <number>', 'charges to print', '50')
    .option('--csv', 'print every matching charge as CSV')
    .option('--json', 'print the page as JSON')
    .action(
      async (
        account: string,
        options: EngineOptions &
          Record<'from' | 'to' | 'operation' | 'thread' | 'project' | 'limit', string | undefined> & {
            csv?: boolean;
            json?: boolean;
          },
      ) => {
        const filter = {
          account,
          from: options.from,
          to: options.to,
          operation: options.operation,
          thread: options.thread,
          project: options.project,
        };
        await withBackend(options, async (backend) => {
          if (options.csv) return output.log((await backend.chargesCsv(filter)).trimEnd());
          const page = await backend.charges({ ...filter, limit: Number(options.limit) });
          if (options.json) return output.log(JSON.stringify(page, null, 2));
          const rows = page.data.map((charge) => [
            charge.created_at,
            charge.operation,
            charge.model ?? '',
            charge.outcome,
            charge.credits,
            `${charge.money.currency} ${charge.money.amount}`,
            charge.metadata.thread ?? '',
          ]);
          for (const line of columns(
            ['time', 'operation', 'model', 'outcome', 'credits', 'money', 'thread'],
            rows,
            new Set([4, 5]),
          )) {
            output.log(line);
          }
          if (page.next_cursor) output.log(`… more: narrow with --from/--to or raise --limit`);
        });
      },
    );

  engineOptions(program.command('init'))
    .description('create the database, register the configuration, and print the first admin key (once)')
    .action(async (options: EngineOptions) => {
      await withTally(options, async (tally) => {
        const admins = [];
        for await (const key of tally.access.allKeys())
          if (key.scope === 'admin' && key.revoked_at === null) admins.push(key);
        if (admins.length > 0) {
          output.error(
            `already initialised: ${options.db} has ${admins.length} admin key(s); make more with POST /v1/keys`,
          );
          exit_code = 1;
          return;
        }
        const key = await tally.access.createKey({ scope: 'admin', name: 'tally init' });
        output.log(`initialised ${options.db}`);
        output.log(`admin key (shown once, keep it safe): ${key.secret}`);
      });
    });

  engineOptions(program.command('import'))
    .description(
      'import a configuration: its price book as a new version when the prices differ, and any accounts with their grants',
    )
    .argument('<file>', 'YAML: price_book, credit_value, accounts: [{ id, kind, timezone, grants: [...] }]')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, options: EngineOptions & { json?: boolean }) => {
      const report = await withTally(options, (tally) => importConfiguration(tally, file));
      if (options.json) return output.log(JSON.stringify(report, null, 2));
      output.log(
        `imported ${file}: ${report.price_version === null ? 'prices unchanged' : `price book version ${report.price_version} published`}, ` +
          `${report.accounts} account(s), ${report.grants} grant(s)`,
      );
    });

  engineOptions(program.command('demo'))
    .description('run the library demo: an account, grants, a reserved and settled run, a verified ledger')
    .action(async (options: EngineOptions) => {
      await withTally(options, (tally) => runDemo(tally, output));
    });

  return { program, exit_code: () => exit_code };
}

/** Runs the CLI; returns the process exit code. */
export async function main(
  argv: string[],
  output = { log: console.log, error: console.error },
): Promise<number> {
  const { program, exit_code } = buildProgram(output);
  try {
    await program.parseAsync(argv);
    return exit_code();
  } catch (error) {
    if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number')
      return error.exitCode;
    if (isTallyError(error) || error instanceof TallyApiError) {
      output.error(`error ${error.code}: ${error.message}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      output.error(error.message);
      return 2;
    }
    throw error;
  }
}
