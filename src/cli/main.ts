/**
 * The `tally` command line: a thin edge over the library. Each group of commands is a module in
 * commands/; this file assembles them and turns every failure a user can cause into one line.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerHistoryCommands } from './commands/history.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerLedgerCommands } from './commands/ledger.ts';
import { registerPriceCommands } from './commands/prices.ts';
import { registerSetupCommands } from './commands/setup.ts';
import { registerSimulateCommand } from './commands/simulate.ts';
import { describeFailure } from './errors.ts';
import type { CliOutput } from './program.ts';
import { registerServeCommand } from './serve.ts';

/** The package's version: from src/cli/ and from dist/cli/ alike, package.json is two folders up. */
const TALLY_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function buildProgram(output: CliOutput): { program: Command; exit_code: () => number } {
  let exit_code = 0;
  const program = new Command('tally')
    .description('Tally, the credits engine for AI products')
    .version(TALLY_VERSION, '-V, --version', 'the version of Tally')
    .exitOverride();
  program.configureOutput({
    writeOut: (text) => output.log(text.trimEnd()),
    writeErr: (text) => output.error(text.trimEnd()),
  });
  const cli = {
    output,
    exitWith: (code: number) => {
      exit_code = code;
    },
  };
  registerLedgerCommands(program, cli);
  registerHistoryCommands(program, cli);
  registerPriceCommands(program, cli);
  registerSimulateCommand(program, cli);
  registerServeCommand(program, cli);
  registerSetupCommands(program, cli);
  registerKeyCommands(program, cli);
  return { program, exit_code: () => exit_code };
}

/** Runs the CLI; returns the process exit code (2: it could not run, with one line saying why). */
export async function main(
  argv: string[],
  output: CliOutput = { log: console.log, error: console.error },
): Promise<number> {
  const { program, exit_code } = buildProgram(output);
  try {
    await program.parseAsync(argv);
    return exit_code();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const line = describeFailure(error);
    if (line === undefined) throw error;
    output.error(line);
    return 2;
  }
}
