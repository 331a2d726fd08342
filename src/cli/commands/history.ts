/** `tally charges`: an account's usage history. */
import type { Command } from 'commander';
import { withBackend } from '../backend.ts';
import { type Cli, type EngineOptions, remoteOptions } from '../program.ts';
import { columns } from '../render.ts';

type ChargesOptions = EngineOptions &
  Record<'from' | 'to' | 'operation' | 'thread' | 'project' | 'limit', string | undefined> & {
    csv?: boolean;
    json?: boolean;
  };

export function registerHistoryCommands(program: Command, { output }: Cli): void {
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
    .action(async (account: string, options: ChargesOptions) => {
      const filter = {
        account,
        from: options.from,
        to: options.to,
        operation: options.operation,
        thread: options.thread,
        project: options.project,
      };
      await withBackend(options, { access: 'read' }, async (backend) => {
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
        ))
          output.log(line);
        if (page.next_cursor) output.log(`… more: narrow with --from/--to or raise --limit`);
      });
    });
}
