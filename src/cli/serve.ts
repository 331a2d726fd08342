/**
 * `tally serve`: the HTTP API, the dashboard and /docs until SIGINT or SIGTERM.
 * `TALLY_ADMIN_KEY=sk_…` registers that admin key at start-up. With `--demo` (what `npm start`
 * runs) it seeds the demo account, makes an admin key on the first start only (shown that once),
 * and prints a fresh customer token for the demo account.
 */
import type { Command } from 'commander';
import { startServer } from '../http/server.ts';
import { proxyApp } from '../proxy/routes.ts';
import { TestClock } from '../service/clock.ts';
import type { Tally } from '../service/tally.ts';
import { databaseOf, openLocalTally } from './backend.ts';
import { DEMO_ACCOUNT, DEMO_CONFIG, runDemo } from './demo.ts';
import { CliError } from './errors.ts';
import { type Cli, type EngineOptions, engineOptions } from './program.ts';

interface ServeOptions extends EngineOptions {
  port: string;
  hostname: string;
  testClock?: boolean;
  demo?: boolean;
}

export function registerServeCommand(program: Command, { output }: Cli): void {
  engineOptions(program.command('proxy'))
    .description('run the OpenAI-compatible metering proxy alone (tally serve includes it)')
    .option(
      '--port <number>',
      'port to listen on (PORT in the environment works too)',
      process.env.PORT ?? '8788',
    )
    .option('--hostname <address>', 'address to listen on', '127.0.0.1')
    .action(async (options: EngineOptions & { port: string; hostname: string }) => {
      const tally = await openLocalTally(options, { access: 'write' });
      if (!tally.config.proxy) {
        await tally.close();
        throw new CliError(
          'this configuration has no proxy: section: see docs/configuration.md (proxy.upstreams, proxy.models)',
        );
      }
      const server = await startServer({
        tally,
        port: Number(options.port),
        hostname: options.hostname,
        app: proxyApp(tally),
      }).catch(async (error: unknown) => {
        await tally.close();
        throw error;
      });
      output.log(`Tally's metering proxy is listening on ${server.url}/v1`);
      output.log(`  models  ${[...tally.config.proxy.models.keys()].join(', ')}`);
      await untilStopped();
      output.log('stopping…');
      await server.close();
      await tally.close();
    });

  engineOptions(program.command('serve'))
    .description('run the HTTP API, the dashboard and the API reference (/docs)')
    .option(
      '--port <number>',
      'port to listen on (PORT in the environment works too)',
      process.env.PORT ?? '8787',
    )
    .option('--hostname <address>', 'address to listen on', '127.0.0.1')
    .option('--test-clock', 'start a movable test clock and expose /v1/test/clock (never in production)')
    .option(
      '--demo',
      'on a new database, the prompt-marketplace preset; seed a demo account, print keys to try it',
    )
    .action((options: ServeOptions) => serveUntilStopped(options, output));
}

/** The admin key to print on a demo start: a new one on the first start, else where to find one. */
async function demoAdminKey(tally: Tally, from_environment: string | undefined): Promise<string> {
  if (from_environment) return `${from_environment} (TALLY_ADMIN_KEY)`;
  for await (const key of tally.access.allKeys())
    if (key.scope === 'admin' && key.revoked_at === null)
      return `the one printed on the first start (${key.secret_prefix}…); tally keys create --scope admin makes another`;
  const made = await tally.access.createKey({ scope: 'admin', name: 'npm start' });
  return `${made.secret} (shown once, keep it: later starts reuse it)`;
}

export async function serveUntilStopped(options: ServeOptions, output: Cli['output']): Promise<void> {
  const database_url = databaseOf(options).url;
  const test_clock = options.testClock ? new TestClock(Date.now()) : undefined;
  const tally = await openLocalTally(options, {
    access: 'write',
    fallback_config: options.demo ? DEMO_CONFIG : undefined,
    clock: test_clock,
  });
  const admin_from_environment = process.env.TALLY_ADMIN_KEY;
  if (admin_from_environment)
    await tally.access.createKey({ scope: 'admin', name: 'TALLY_ADMIN_KEY', secret: admin_from_environment });
  const server = await startServer({
    tally,
    port: Number(options.port),
    hostname: options.hostname,
    test_clock,
  }).catch(async (error: unknown) => {
    await tally.close();
    throw error;
  });

  output.log(`Tally is listening on ${server.url} (${database_url ? 'PostgreSQL' : `SQLite ${options.db}`})`);
  output.log(
    `  dashboard      ${server.url}/  (the portal with a customer token, the console with a secret key)`,
  );
  output.log(`  API reference  ${server.url}/docs`);
  output.log(`  OpenAPI        ${server.url}/openapi.json`);
  output.log(`  prices         ${server.url}/v1/prices`);
  if (test_clock) output.log('  test clock     enabled: POST /v1/test/clock moves time forward');
  if (options.demo) {
    await runDemo(tally, { log: () => {} });
    const admin = await demoAdminKey(tally, admin_from_environment);
    // The default preset's demo account, else the first account of the preset's demo data.
    const demo_account = (await tally.store.read((transaction) => transaction.getAccount(DEMO_ACCOUNT)))
      ? DEMO_ACCOUNT
      : tally.config.demo.accounts[0]?.id;
    output.log('');
    output.log(`  admin key                  ${admin}`);
    if (demo_account) {
      const customer = await tally.access.mintCustomerToken(demo_account);
      output.log(`  customer token (${demo_account}, 1 h)  ${customer.token}`);
      output.log('');
      output.log(
        `  try: curl -H "Authorization: Bearer ${customer.token}" ${server.url}/v1/accounts/${demo_account}/balance`,
      );
    }
  }

  await untilStopped();
  output.log('stopping…');
  await server.close();
  await tally.close();
}

/** Until SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise<void>((resolve_stop) => {
    const stop = () => resolve_stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
