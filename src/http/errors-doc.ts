/**
 * `docs/errors.md`, generated from the one table of result codes (`npm run docs:errors`); a
 * test fails when the file and the table disagree.
 */
import { resultCodes } from '../domain/results.ts';

export function errorsMarkdown(): string {
  const rows = Object.entries(resultCodes)
    .sort(([, a], [, b]) => a.status - b.status)
    .map(([code, { status, title }]) => `| \`${code}\` | ${status} | ${title} |`);
  return [
    '# Error codes',
    '',
    'Every refusal is an `application/problem+json` document whose `code` is one of these. The set is',
    'closed: a new code is a change to this table (`src/domain/results.ts`), and this file is generated',
    'from it by `npm run docs:errors`. Validation refusals list each offending field in `errors`, each',
    'with its own code from the same set. `internal_error` (500) means a bug, never a refusal.',
    '',
    '| code | HTTP status | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
