/**
 * The library demo behind `npm start` until the HTTP server arrives: one account of the prompt
 * marketplace, its grants, one reserved and settled run, the balance, and a verified ledger.
 * Every step carries an idempotency key, so running it again reuses the same data.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tally } from '../service/tally.ts';

/** The preset `npm start` and the CLI use when no --config is given. */
export const DEMO_CONFIG = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../examples/prompt-marketplace.yaml',
);

export const DEMO_ACCOUNT = 'demo-user';

export async function runDemo(tally: Tally, output: { log: (line: string) => void }): Promise<void> {
  const account = DEMO_ACCOUNT;
  await tally.putAccount({ id: account, kind: 'user', timezone: 'Europe/Paris' });
  // The preset gives every account its 2,000 free credits a month; the demo adds a top-up.
  await tally.issueGrant(
    { account, kind: 'purchased', amount: '500', reason: 'top-up' },
    { idempotency_key: 'demo:grant:top-up' },
  );
  const reservation = await tally.reserve(
    { account, operation: 'prompt.run', model: 'gpt-4o', usage: { input_tokens: 2000, output_tokens: 1000 } },
    { idempotency_key: 'demo:reserve:1' },
  );
  output.log(`reserved ${reservation.amount} credits for prompt.run (${reservation.id})`);
  const charge = await tally.settle(
    { reservation: reservation.id, usage: { input_tokens: 1800, output_tokens: 640 }, outcome: 'succeeded' },
    { idempotency_key: 'demo:settle:1' },
  );
  output.log(
    `settled: charged ${charge.credits} credits (${charge.grants.map((g) => `${g.amount} ${g.kind}`).join(' + ')})`,
  );
  const balance = await tally.getBalance(account);
  output.log(`balance of ${account}: ${balance.available} credits available`);
  for (const [kind, amounts] of Object.entries(balance.by_kind)) {
    if (amounts.available !== '0') output.log(`  ${kind.padEnd(12)} ${amounts.available}`);
  }
  const report = await tally.verify();
  output.log(
    `ledger ${report.ok ? 'verified' : 'has problems'}: ${report.transactions} journal transaction(s)`,
  );
}
