/** `tally verify`, `tally balance`, `tally grant`: the ledger itself. */
import type { Command } from 'commander';
import { withBackend, withTally } from '../backend.ts';
import { type Cli, type EngineOptions, engineOptions, remoteOptions } from '../program.ts';
import { type Progress, startProgress } from '../progress.ts';

export function registerLedgerCommands(program: Command, { output, exitWith }: Cli): void {
  engineOptions(program.command('verify'))
    .description('check the ledger: balanced transactions, grant balances, holds, the hash chain')
    .option('--json', 'print the report as JSON')
    .action(async (options: EngineOptions & { json?: boolean }) => {
      const report = await withTally(options, { access: 'read' }, (tally) => {
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
      exitWith(report.ok ? 0 : 1);
    });

  remoteOptions(program.command('balance'))
    .description("print an account's balance by kind")
    .argument('<account>')
    .option('--json', 'print the balance as JSON')
    .action(async (account: string, options: EngineOptions & { json?: boolean }) => {
      const balance = await withBackend(options, { access: 'read' }, (backend) => backend.balance(account));
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
        const grant = await withBackend(options, { access: 'write' }, (backend) =>
          backend.issueGrant(
            { account, kind, amount, expires_at: options.expiresAt, reason: options.reason },
            { idempotency_key: options.idempotencyKey },
          ),
        );
        if (options.json) output.log(JSON.stringify(grant, null, 2));
        else output.log(`granted ${grant.amount} ${grant.kind} credits to ${account} (${grant.id})`);
      },
    );
}
