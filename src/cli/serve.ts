/**
 * `tally serve`: the HTTP API until SIGINT or SIGTERM. `TALLY_ADMIN_KEY=sk_…` registers that
 * admin key at start-up. With `--demo` (what `npm start` runs) it seeds the demo account and
 * prints a fresh admin key and a customer token for it.
 */
import { startServer } from '../http/server.ts';
import { TestClock } from '../service/clock.ts';
import { databaseOf, openLocalTally } from './backend.ts';
import { DEMO_ACCOUNT, runDemo } from './demo.ts';

export async function serveUntilStopped(
  options: {
    db: string;
    databaseUrl?: string;
    config?: string;
    port: string;
    hostname: string;
    testClock?: boolean;
    demo?: boolean;
  },
  output: { log: (line: string) => void },
): Promise<void> {
  const database_url = databaseOf(options).url;
  const test_clock = options.testClock ? new TestClock(Date.now()) : undefined;
  const tally = await openLocalTally(options, test_clock);
  const admin_from_environment = process.env.TALLY_ADMIN_KEY;
  if (admin_from_environment)
    await tally.access.createKey({ scope: 'admin', name: 'TALLY_ADMIN_KEY', secret: admin_from_environment });
  const server = await startServer({
    tally,
    port: Number(options.port),
    hostname: options.hostname,
    test_clock,
  });

  output.log(`Tally is listening on ${server.url} (${database_url ? 'PostgreSQL' : `SQLite ${options.db}`})`);
  output.log(`  API reference  ${server.url}/docs`);
  output.log(`  OpenAPI        ${server.url}/openapi.json`);
  output.log(`  prices         ${server.url}/v1/prices`);
  if (test_clock) output.log('  test clock     enabled: POST /v1/test/clock moves time forward');
  if (options.demo) {
    await runDemo(tally, { log: () => {} });
    const admin = await tally.access.createKey({ scope: 'admin', name: 'npm start' });
    const customer = await tally.access.mintCustomerToken(DEMO_ACCOUNT);
    output.log('');
    output.log(`  admin key (shown once)     ${admin.secret}`);
    output.log(`  customer token (${DEMO_ACCOUNT}, 1 h)  ${customer.token}`);
    output.log('');
    output.log(
      `  try: curl -H "Authorization: Bearer ${admin.secret}" ${server.url}/v1/accounts/${DEMO_ACCOUNT}/balance`,
    );
  }

  await new Promise<void>((resolve_stop) => {
    const stop = () => resolve_stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  output.log('stopping…');
  await server.close();
  await tally.close();
}
