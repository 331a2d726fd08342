/**
 * What the CLI says when something outside the ledger fails: one line saying what is wrong and
 * what to do, and exit code 2 — never a stack trace for a mistake a user can make.
 */
import { isTallyError } from '../domain/results.ts';
import { ConfigError } from '../schema/config.ts';
import { TallyApiError } from '../sdk/client.ts';

/** A refusal of the CLI itself (a missing database, a missing configuration): its message is the line. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

interface SystemError {
  code?: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
  hostname?: string;
  message: string;
  cause?: unknown;
}

/** Where the failing connection went, from the error's own fields. */
const target = (error: SystemError) =>
  error.address ? `${error.address}${error.port ? `:${error.port}` : ''}` : (error.hostname ?? 'the server');

/** The one line for a failure a user can cause, or undefined for a bug (which keeps its stack trace). */
export function describeFailure(error: unknown): string | undefined {
  if (error instanceof CliError || error instanceof ConfigError) return error.message;
  if (error instanceof TallyApiError)
    return `error ${error.code}: ${error.problem.detail ?? error.problem.title}`;
  if (isTallyError(error)) return `error ${error.code}: ${error.message}`;
  if (typeof error !== 'object' || error === null) return undefined;
  const failure = error as SystemError;
  switch (failure.code) {
    case 'EADDRINUSE':
      return `${failure.port ? `port ${failure.port}` : 'the port'} is already in use: stop what listens there, or choose another with --port`;
    case 'EACCES':
      if (failure.syscall === 'listen')
        return `not allowed to listen on port ${failure.port}: choose a port above 1023 with --port`;
      return `permission denied: ${failure.message}`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return `cannot reach PostgreSQL at ${target(failure)} (${failure.code}): is it running, and is --database-url (or DATABASE_URL) right?`;
    case '3D000':
      return `${failure.message}: create it (createdb), or fix --database-url (or DATABASE_URL)`;
    case '28P01':
    case '28000':
      return `PostgreSQL refused the login: ${failure.message}; check the user and password in --database-url`;
    case 'SQLITE_NOTADB':
      return 'the --db file is not a Tally database (SQLite cannot read it): give the path of a database, or a new file name';
    case 'SQLITE_CANTOPEN':
      return 'cannot open the --db file: check that its folder exists and is writable';
    default:
      return undefined;
  }
}
