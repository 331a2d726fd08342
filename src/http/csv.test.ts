import { describe, expect, it } from 'vitest';
import type { ChargeView } from '../service/views.ts';
import { chargesCsv } from './csv.ts';

const charge = (thread: string, project = 'p'): ChargeView =>
  ({
    id: 'ch_1',
    created_at: '2026-03-01T10:00:00.000Z',
    operation: 'chat.fast',
    model: null,
    outcome: 'succeeded',
    credits: '1',
    refunded: '0',
    money: { amount: '0.01', currency: 'USD' },
    metadata: { thread, project },
    member: null,
    usage: { input_tokens: '10' },
    price_version: 1,
    usage_source: 'reported',
  }) as unknown as ChargeView;

describe('charges as CSV', () => {
  it('escapes formulas in fields users control, as OWASP recommends', () => {
    const lines = chargesCsv([
      charge('=HYPERLINK("http://evil.example","click")'),
      charge("+cmd|' /C calc'!A0"),
      charge('@SUM(1+1)', '-2+3'),
      charge('\tinjected'),
    ]).split('\r\n');
    const threads = lines.slice(1, 5).map((line) => line.split(',')[9]);
    expect(threads).toEqual([
      `"'=HYPERLINK(""http://evil.example""`,
      "'+cmd|' /C calc'!A0",
      "'@SUM(1+1)",
      "'\tinjected",
    ]);
    expect(lines[3]).toContain(",'-2+3,");
  });

  it('quotes commas, quotes and line breaks, and writes CRLF line ends with a header', () => {
    const csv = chargesCsv([charge('a, "b"\nc')]);
    expect(
      csv.startsWith('id,created_at,operation,model,outcome,credits,refunded,money,currency,thread,'),
    ).toBe(true);
    expect(csv).toContain('"a, ""b""\nc"');
    expect(csv.endsWith('\r\n')).toBe(true);
    // Where a proxied call's usage came from, last.
    expect(csv.split('\r\n')[0]!.endsWith(',price_version,usage_source')).toBe(true);
    expect(csv.split('\r\n').at(-2)!.endsWith(',1,reported')).toBe(true);
  });
});
