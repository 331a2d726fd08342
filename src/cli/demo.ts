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
/** The author whose prompt the demo account runs, when the preset has them (prompt-marketplace.yaml). */
const DEMO_AUTHOR = 'ada-writes';

/**
 * The preset's own demo data (its `demo:` section): accounts with their grants, teams with their
 * members. Idempotency keys make a second start change nothing.
 */
export async function seedPresetDemo(tally: Tally): Promise<void> {
  for (const account of tally.config.demo.accounts) {
    await tally.putAccount({ id: account.id, kind: account.kind, timezone: account.timezone });
    for (const [index, grant] of account.grants.entries()) {
      await tally.issueGrant(
        { account: account.id, kind: grant.kind, amount: grant.amount, reason: grant.reason ?? 'demo' },
        { idempotency_key: `demo:${account.id}:grant:${index}` },
      );
    }
    for (const member of account.members) {
      if (!(await tally.store.read((transaction) => transaction.getAccount(member.account)))) {
        await tally.putAccount({ id: member.account, kind: 'user', timezone: account.timezone });
      }
      await tally.putMember({
        team: account.id,
        member: member.account,
        role: member.role,
        limits: member.limits,
      });
    }
  }
}

export async function runDemo(tally: Tally, output: { log: (line: string) => void }): Promise<void> {
  await seedPresetDemo(tally);
  // The demo account's run needs the prompt marketplace's price book (the default preset).
  const book = await tally.store.read((transaction) =>
    tally.price_books.inForceAt(transaction, tally.clock.now_ms()),
  );
  if (!book.operations.has('prompt.run')) return;
  const account = DEMO_ACCOUNT;
  await tally.putAccount({ id: account, kind: 'user', timezone: 'Europe/Paris' });
  // The preset gives every account its 2,000 free credits a month; the demo adds a top-up.
  await tally.issueGrant(
    { account, kind: 'purchased', amount: '500', reason: 'top-up' },
    { idempotency_key: 'demo:grant:top-up' },
  );
  const reservation = await tally.reserve(
    {
      account,
      operation: 'prompt.run',
      model: 'gpt-4o',
      usage: { input_tokens: 2000, output_tokens: 1000 },
      // A prompt of the preset's demo author: they earn 10 % of what the run costs.
      ...(tally.config.demo.accounts.some((demo) => demo.id === DEMO_AUTHOR)
        ? { metadata: { author: DEMO_AUTHOR, prompt: 'landing-page-copy' } }
        : {}),
    },
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
