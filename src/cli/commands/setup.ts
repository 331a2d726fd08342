/** `tally init`, `tally import`, `tally demo`: setting a database up. */
import type { Command } from 'commander';
import { withTally } from '../backend.ts';
import { DEMO_CONFIG, runDemo } from '../demo.ts';
import { importConfiguration } from '../import.ts';
import { type Cli, type EngineOptions, engineOptions } from '../program.ts';

export function registerSetupCommands(program: Command, { output, exitWith }: Cli): void {
  engineOptions(program.command('init'))
    .description('create the database, store the configuration, and print the first admin key (once)')
    .action(async (options: EngineOptions) => {
      await withTally(options, { access: 'write' }, async (tally) => {
        let admins = 0;
        for await (const key of tally.access.allKeys())
          if (key.scope === 'admin' && key.revoked_at === null) admins++;
        if (admins > 0) {
          output.error(
            `already initialised: ${options.db} has ${admins} admin key(s); make another with tally keys create --scope admin`,
          );
          return exitWith(1);
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
      // A new database takes the imported file as its configuration.
      const report = await withTally(options, { access: 'write', fallback_config: file }, (tally) =>
        importConfiguration(tally, file),
      );
      if (options.json) return output.log(JSON.stringify(report, null, 2));
      output.log(
        `imported ${file}: ${report.price_version === null ? 'prices unchanged' : `price book version ${report.price_version} published`}, ` +
          `${report.accounts} account(s), ${report.grants} grant(s)`,
      );
    });

  engineOptions(program.command('demo'))
    .description('run the library demo: an account, grants, a reserved and settled run, a verified ledger')
    .action(async (options: EngineOptions) => {
      await withTally(options, { access: 'write', fallback_config: DEMO_CONFIG }, (tally) =>
        runDemo(tally, output),
      );
    });
}
