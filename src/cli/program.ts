/** What every command module of the CLI is given: where to print, how to set the exit code, its options. */
import type { Command } from 'commander';
import type { BackendOptions } from './backend.ts';

export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

export interface Cli {
  output: CliOutput;
  /** Ends the run with this exit code (1: the command found a problem; 2: it could not run). */
  exitWith(code: number): void;
}

export type EngineOptions = BackendOptions;

export const DEFAULT_DATABASE = './data/tally.db';

const CONFIG_HELP =
  'tally.config.yaml, or a preset name (default: TALLY_CONFIG, ./tally.config.yaml, then the one the database holds)';

/** The options of a command that opens the local database. */
export const engineOptions = (command: Command) =>
  command
    .option('--db <file>', 'SQLite database file', DEFAULT_DATABASE)
    .option('--database-url <url>', 'postgres://… to run on PostgreSQL instead (or DATABASE_URL)')
    .option('--config <file>', CONFIG_HELP);

/** The options of a command that can act on a running server instead of the local database. */
export const remoteOptions = (command: Command) =>
  engineOptions(command)
    .option('--url <url>', 'act on a running Tally server through its API (or TALLY_URL)')
    .option('--key <key>', 'the secret key or customer token for --url (or TALLY_KEY)');
