/** `tally prices`: the public price table, of a configuration, a database or a running server. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { configNamed, withBackend } from '../backend.ts';
import { CliError } from '../errors.ts';
import { type Cli, DEFAULT_DATABASE, type EngineOptions } from '../program.ts';
import { renderPacks, renderPriceTable } from '../render.ts';

export function registerPriceCommands(program: Command, { output }: Cli): void {
  program
    .command('prices')
    .description('print the public price table: credit value, every operation, its rates and an example cost')
    .option('--config <file>', 'the price table of this configuration (or a preset name)')
    .option(
      '--db <file>',
      `the version in force in this database (default: ${DEFAULT_DATABASE} when no configuration is named)`,
    )
    .option('--database-url <url>', 'the version in force in this PostgreSQL database (or DATABASE_URL)')
    .option('--price-version <number>', 'a published version instead of the one in force')
    .option('--url <url>', 'read the table of a running Tally server (or TALLY_URL)')
    .option('--json', 'print the table as JSON')
    .action(async (options: Partial<EngineOptions> & { priceVersion?: string; json?: boolean }) => {
      // A configuration alone is priced in memory; a database is read as it stands.
      const db =
        options.db ??
        (configNamed(options) || options.databaseUrl || process.env.DATABASE_URL
          ? ':memory:'
          : DEFAULT_DATABASE);
      if (db === DEFAULT_DATABASE && !options.url && !process.env.TALLY_URL && !existsSync(db))
        throw new CliError(
          'no prices to show: name a configuration with --config FILE (or a preset), or a database with --db',
        );
      const version = options.priceVersion === undefined ? undefined : Number(options.priceVersion);
      const { table, packs } = await withBackend({ ...options, db }, { access: 'read' }, async (backend) => ({
        table: await backend.prices(version),
        packs: await backend.packs(),
      }));
      if (options.json) output.log(JSON.stringify({ ...table, packs }, null, 2));
      else for (const line of [...renderPriceTable(table), ...renderPacks(packs)]) output.log(line);
    });
}
