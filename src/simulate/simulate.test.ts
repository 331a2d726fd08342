/**
 * The simulator: the same trace through the library and through the HTTP server gives the same
 * results credit for credit; daily resets across a DST change; a hand-computed breakage; bad
 * traces refused before anything runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../http/server.ts';
import { loadConfig } from '../index.ts';
import { compileConfig, compilePriceBook } from '../schema/config.ts';
import { TallyClient } from '../sdk/client.ts';
import { TestClock } from '../service/clock.ts';
import { Tally } from '../service/tally.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { httpPort, libraryPort, replayTrace, type SimulationPort } from './replay.ts';
import { simulate, simulationDocument } from './simulate.ts';
import { generateTrace, parseTrace, TraceError } from './trace.ts';

const PRESET = new URL('../../examples/prompt-marketplace.yaml', import.meta.url).pathname;
const directory = mkdtempSync(join(tmpdir(), 'tally-simulate-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function writeConfig(name: string, yaml: string): string {
  const file = join(directory, name);
  writeFileSync(file, yaml);
  return file;
}

async function balances(port: SimulationPort, accounts: Iterable<string>) {
  const result: Record<string, string> = {};
  for (const account of accounts) result[account] = await port.available(account);
  return result;
}

describe('tally simulate', () => {
  it('gives what the HTTP server with its test clock gives for the same trace, credit for credit', async () => {
    const config = loadConfig(PRESET);
    const book = compilePriceBook(config.price_book_document);
    const operations = new Map(
      [...book.operations].map(([id, operation]) => [
        id,
        { example_usage: operation.example_usage, model: operation.models.keys().next().value },
      ]),
    );
    const text = generateTrace(240, config, operations, { seed: 7, accounts: 6 });
    const rows = parseTrace(text, config, new Set(book.operations.keys()));
    const accounts = new Set(rows.map((row) => row.account));

    const document = simulationDocument(PRESET);
    const open = async () => {
      const clock = new TestClock(rows[0]!.at_ms);
      return {
        clock,
        tally: await Tally.open(new SqliteStore({ filename: ':memory:' }), compileConfig(document), clock),
      };
    };
    const library = await open();
    const by_library = await replayTrace(libraryPort(library.tally, library.clock), rows);
    const library_balances = await balances(libraryPort(library.tally, library.clock), accounts);

    const served = await open();
    await served.tally.access.createKey({
      scope: 'admin',
      name: 'simulate',
      secret: 'sk_admin_simulate_0123456789',
    });
    const server = await startServer({ tally: served.tally, port: 0, test_clock: served.clock });
    try {
      const port = httpPort(new TallyClient({ url: server.url, credential: 'sk_admin_simulate_0123456789' }));
      const by_http = await replayTrace(port, rows);
      expect(by_http).toEqual(by_library);
      expect(await balances(port, accounts)).toEqual(library_balances);
    } finally {
      await server.close();
      await served.tally.close();
    }
    // And `simulate` is that same replay: its outcomes are the library's.
    expect((await simulate(PRESET, text)).outcomes).toEqual(by_library);
    expect(by_library.some((outcome) => !outcome.ok)).toBe(true);
    expect(by_library.some((outcome) => outcome.ok && outcome.credits !== undefined)).toBe(true);
    await library.tally.close();
  }, 60_000);

  it('counts daily resets at local midnight for Asia/Kolkata and America/Los_Angeles across the DST change', async () => {
    const config = writeConfig(
      'daily.yaml',
      `kinds: [daily, bonus]
allowances:
  - { id: daily, kind: daily, amount: 10, period: daily, expires: period_end }
price_book:
  operations:
    run: { rates: { credits: "1" } }
`,
    );
    // Every 6 hours from 12 March 00:00 UTC to 16 March 00:00 UTC; Los Angeles moves to PDT on 14 March.
    const lines = ['timestamp,account,timezone,operation,credits'];
    for (let hour = 0; hour <= 96; hour += 6) {
      const at = new Date(Date.UTC(2027, 2, 12, hour)).toISOString();
      lines.push(`${at},kol,Asia/Kolkata,run,1`, `${at},la,America/Los_Angeles,run,1`);
    }
    const report = await simulate(config, `${lines.join('\n')}\n`);
    const kol = report.accounts.find((account) => account.account === 'kol')!;
    const la = report.accounts.find((account) => account.account === 'la')!;
    // Kolkata: 05:30 on the 12th to 05:30 on the 16th, 5 local days. Los Angeles: 16:00 on the
    // 11th (PST) to 17:00 on the 15th (PDT), 5 local days; each gets 10 a day.
    expect([kol.granted, la.granted]).toEqual([{ daily: '50' }, { daily: '50' }]);
    expect([kol.used, la.used]).toEqual([{ daily: '17' }, { daily: '17' }]);
    // Each closed local day's credits expired at its midnight; the last day's are still open.
    // Kolkata runs at 05:30, 11:30, 17:30 and 23:30: 4 runs on each of the 12th to 15th, so 4 × 6.
    expect(kol.expired).toEqual({ daily: '24' });
    // Los Angeles: 2 runs on the 11th (16:00, 22:00 PST), then 4 on each of the 12th, 13th and the
    // 14th (whose runs after 2 am fall at 05:00, 11:00, 17:00, 23:00 PDT): 8 + 3 × 6.
    expect(la.expired).toEqual({ daily: '26' });
  });

  it('reports the free credits breakage of 60 days on the prompt marketplace exactly', async () => {
    // One person from 1 January: 10 credits then, 20 on 1 February, 5 on 2 March (gpt-4o output at 1 credit per 1,000 tokens).
    const trace = `timestamp,account,timezone,operation,model,input_tokens,output_tokens
2027-01-01T00:00:00Z,ann,UTC,prompt.run,gpt-4o,0,10000
2027-02-01T10:00:00Z,ann,UTC,prompt.run,gpt-4o,0,20000
2027-03-02T00:00:00Z,ann,UTC,prompt.run,gpt-4o,0,5000
`;
    const report = await simulate(PRESET, trace);
    expect(report.total).toMatchObject({
      // January's, February's and March's 2,000.
      granted: { free: '6000' },
      used: { free: '35' },
      // January's 1,990 expired after 30 days (31 January); February's 1,980 at March's reset.
      expired: { free: '3970' },
      runs: 3,
      usable_outputs: 3,
      credits_per_usable_output: '11.666666',
      failed_share: '0',
    });
    expect(report.expired_by_month).toEqual({ '2027-01': { free: '1990' }, '2027-03': { free: '1980' } });
  });

  it('refuses a bad trace before anything runs: the line of a malformed row, unknown operations and packs, an empty trace', async () => {
    const config = loadConfig(PRESET);
    const operations = new Set(compilePriceBook(config.price_book_document).operations.keys());
    const refusal = (text: string) => {
      try {
        parseTrace(text, config, operations);
      } catch (error) {
        expect(error).toBeInstanceOf(TraceError);
        return (error as TraceError).message;
      }
      throw new Error('the trace was accepted');
    };
    expect(
      refusal(
        'timestamp,account,operation,model,output_tokens\n2027-01-01T00:00:00Z,ann,prompt.run,gpt-4o,100\nyesterday,ann,prompt.run,gpt-4o,100\n',
      ),
    ).toBe('line 3: timestamp "yesterday" is not an RFC 3339 time');
    expect(refusal('timestamp,account,operation\n2027-01-01T00:00:00Z,ann,video.make\n')).toMatch(
      /^line 2: operation "video.make" is not in the price book \(prompt\.run, /,
    );
    expect(refusal('timestamp,account,pack\n2027-01-01T00:00:00Z,ann,mega\n')).toMatch(
      /^line 2: pack "mega" is not one of the configuration's packs \(topup_1000, topup_5000\)$/,
    );
    expect(
      refusal('timestamp,account,operation,output_tokens\n2027-01-01T00:00:00Z,ann,prompt.run,-3\n'),
    ).toBe('line 2: output_tokens "-3" is not a non-negative number');
    expect(refusal('')).toBe('the trace is empty: give a header line and at least one row');
    expect(refusal('timestamp,account\n')).toBe(
      'the trace is empty: give a header line and at least one row',
    );
    expect(refusal('timestamp,account,operation\n2027-01-01T00:00:00Z,ann\n')).toMatch(/not valid CSV/);
  });
});
