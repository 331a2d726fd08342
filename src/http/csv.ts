/**
 * CSV for spreadsheets (RFC 4180, CRLF line ends), written by csv-stringify. A field a user
 * controls (a thread name, a project) that starts with `=`, `+`, `-`, `@`, a tab or a carriage
 * return is prefixed with a single quote, as OWASP recommends against CSV injection: a
 * spreadsheet would otherwise run `=HYPERLINK(…)` or `+cmd|…` as a formula when the file opens.
 */
import { stringify } from 'csv-stringify/sync';
import type { EarningsView } from '../service/creators/statements.ts';
import type { ChargeView } from '../service/views.ts';

const COLUMNS: [string, (charge: ChargeView) => unknown][] = [
  ['id', (charge) => charge.id],
  ['created_at', (charge) => charge.created_at],
  ['operation', (charge) => charge.operation],
  ['model', (charge) => charge.model],
  ['outcome', (charge) => charge.outcome],
  ['credits', (charge) => charge.credits],
  ['refunded', (charge) => charge.refunded],
  ['money', (charge) => charge.money.amount],
  ['currency', (charge) => charge.money.currency],
  ['thread', (charge) => charge.metadata.thread],
  ['project', (charge) => charge.metadata.project],
  ['app', (charge) => charge.metadata.app],
  ['member', (charge) => charge.member],
  ['usage', (charge) => charge.usage],
  ['price_version', (charge) => charge.price_version],
  ['usage_source', (charge) => charge.usage_source],
];

const cell = (value: unknown): string =>
  value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);

export function chargesCsv(charges: readonly ChargeView[]): string {
  return stringify(
    charges.map((charge) => COLUMNS.map(([, value]) => cell(value(charge)))),
    {
      header: true,
      columns: COLUMNS.map(([name]) => name),
      record_delimiter: 'windows',
      escape_formulas: true,
    },
  );
}

/** A creator's statement as CSV: a line per group, then the totals and what is payable. */
export function earningsCsv(statement: EarningsView): string {
  const line = (
    key: string,
    row: Omit<EarningsView['groups'][number], 'key' | 'runs'>,
    runs: number | string,
  ) => [key, String(runs), row.gross, row.share, row.reversed, row.net, row.money.amount, row.money.currency];
  const runs = statement.groups.reduce((sum, group) => sum + group.runs, 0);
  return stringify(
    [
      ...statement.groups.map((group) => line(group.key, group, group.runs)),
      line('total', statement, runs),
      [
        'payable',
        '',
        '',
        '',
        '',
        statement.payable,
        statement.payable_money.amount,
        statement.payable_money.currency,
      ],
    ],
    {
      header: true,
      columns: [statement.group_by, 'runs', 'gross', 'share', 'reversed', 'net', 'money', 'currency'],
      record_delimiter: 'windows',
      escape_formulas: true,
    },
  );
}
