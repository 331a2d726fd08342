/** CSV for spreadsheets (RFC 4180): every field quoted when it needs to be, CRLF line ends. */
import type { ChargeView } from '../service/views.ts';

const field = (value: unknown): string => {
  const text =
    value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

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
];

export function chargesCsv(charges: readonly ChargeView[]): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const charge of charges) lines.push(COLUMNS.map(([, value]) => field(value(charge))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
