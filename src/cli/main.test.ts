import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createTally } from '../index.ts';
import { main } from './main.ts';

const directory = mkdtempSync(join(tmpdir(), 'tally-cli-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'tally', ...args], {
    log: (line) => out.push(line),
    error: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Tampering as someone with raw database access would: the append-only triggers go first. */
function tamper(file: string, sql: string): void {
  const database = new Database(file);
  database.exec(`
    DROP TRIGGER journal_transactions_append_only_update; DROP TRIGGER journal_transactions_append_only_delete;
    ${sql}`);
  database.close();
}

describe('tally CLI', () => {
  let db: string;
  let count = 0;
  beforeEach(async () => {
    db = join(directory, `demo-${count++}.db`);
    const demo = await run('demo', '--db', db);
    expect(demo.code).toBe(0);
  });

  it('verifies a database filled by the demo, and the demo can run again on the same data', async () => {
    const first = await run('verify', '--db', db);
    expect(first).toMatchObject({ code: 0 });
    // The demo account and the preset's demo author (their free monthly credits).
    expect(first.out).toContain('✓ ledger verified: 2 account(s), 5 journal transaction(s)');
    expect((await run('demo', '--db', db)).code).toBe(0);
    expect((await run('verify', '--db', db)).out).toContain('5 journal transaction(s)');
  });

  it('fails on an edited journal entry: the transaction no longer sums to zero and its hash breaks', async () => {
    tamper(
      db,
      // Line 1 of transaction 1 gets one micro-credit more.
      `UPDATE journal_transactions SET entries_json = json_replace(entries_json, '$[1][3]',
         CAST(CAST(entries_json ->> '$[1][3]' AS INTEGER) + 1 AS TEXT)) WHERE sequence = 1`,
    );
    const result = await run('verify', '--db', db);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/\[balance\] transaction 1 .* sums to 1 micro-credits/);
    expect(result.err).toMatch(/\[chain\] transaction 1 .* was altered/);
    expect(result.err).toMatch(/\[grant\] grant gr_\w+ has \d+ remaining, its entries sum to \d+/);
  });

  it('reports journal lines edited into something unreadable as an altered transaction', async () => {
    tamper(db, "UPDATE journal_transactions SET entries_json = 'lines?' WHERE sequence = 1");
    const result = await run('verify', '--db', db);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/\[chain\] transaction 1 .* was altered/);
  });

  it('fails on a deleted journal transaction: the chain has a gap', async () => {
    tamper(db, 'DELETE FROM journal_transactions WHERE sequence = 2');
    const result = await run('verify', '--db', db);
    expect(result.code).toBe(1);
    expect(result.err).toContain('[chain] transaction 2 is missing');
  });

  it('fails on a grant whose remaining was edited, and on a reservation row changed under its holds', async () => {
    tamper(
      db,
      "UPDATE grants SET remaining_micros = remaining_micros - 1 WHERE kind = 'free'; UPDATE reservations SET status = 'held'",
    );
    const result = await run('verify', '--db', db);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/\[grant\] grant .* remaining, its entries sum to/);
    expect(result.err).toMatch(/\[hold\] reservation rsv_\w+ \(held\) holds 0, expected 1500000/);
  });

  it('fails on refunds above their charge, as a lost update of its refunded amount would leave them', async () => {
    const file = join(directory, `refunds-${count++}.db`);
    const config = join(directory, 'refunds.yaml');
    writeFileSync(config, 'price_book:\n  operations:\n    run:\n      rates: { credits: "1" }\n');
    const verify = () => run('verify', '--db', file, '--config', config);
    const refundTwice = async (step: 'first' | 'second') => {
      const tally = await createTally({ database: file, config });
      if (step === 'first') {
        await tally.putAccount({ id: 'carol', kind: 'user' });
        await tally.issueGrant({ account: 'carol', kind: 'purchased', amount: '5' });
        await tally.charge({ account: 'carol', operation: 'run', usage: { credits: 1 } });
      }
      const [charge] = (await tally.listCharges({ account: 'carol' })).data;
      await tally.refundCharge({ charge: charge!.id, amount: '0.75', reason: step });
      await tally.close();
    };
    await refundTwice('first');
    expect((await verify()).code).toBe(0);
    // The bug this catches: a second refund that read the charge before the first was recorded.
    tamper(file, 'UPDATE charges SET refunded_micros = 0');
    expect((await verify()).err).toMatch(
      /\[refund\] charge ch_\w+ records 0 refunded, its refund grants and compensations sum to 750000/,
    );
    await refundTwice('second');
    const result = await verify();
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/\[refund\] charge ch_\w+ of 1000000 micro-credits was refunded 1500000/);
  });

  it('prints the seed-004 price table with credit and money columns', async () => {
    const result = await run(
      'prices',
      '--config',
      new URL('../../examples/app-builder.yaml', import.meta.url).pathname,
    );
    expect(result.code).toBe(0);
    expect(result.out).toContain('1 credit = USD 0.001');
    expect(result.out).toMatch(
      /operation\s+name\s+credits per unit\s+fees and add-ons\s+limits\s+example\s+money/,
    );
    expect(result.out).toMatch(
      /ai\.standard\s+Standard AI Requests\s+0\.002\/input_tokens, 0\.008\/output_tokens\s+web_search \+15\s+min 2\s+4\s+USD 0\.004/,
    );
    expect(result.out).toMatch(/web\.extract\s+Web Content Extraction\s+\+8 per run\s+8\s+USD 0\.008/);
    const json = JSON.parse((await run('prices', '--config', 'prompt-marketplace', '--json')).out);
    expect(json.operations.map((operation: { id: string }) => operation.id)).toEqual([
      'prompt.refine',
      'prompt.run',
      'prompt.run.premium',
    ]);
  });

  it('prints the packs with their unit price, discount and volume breakpoints', async () => {
    const result = await run('prices', '--config', 'credit-ux');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/pack\s+name\s+credits\s+bonus\s+price\s+per credit\s+discount/);
    expect(result.out).toMatch(/regular\s+Regular\s+2000\s+USD 18\.00\s+0\.009\s+10 %/);
    expect(result.out).toMatch(/from 5\s+USD 16\.00 each\s+0\.008\s+20 %/);
    expect(result.out).toMatch(/studio\s+Studio\s+10000\s+\+1000 bonus\s+USD 80\.00\s+0\.008\s+20 %/);
    const json = JSON.parse((await run('prices', '--config', 'credit-ux', '--json')).out);
    expect(json.packs.data.map((pack: { id: string }) => pack.id)).toEqual(['try', 'regular', 'studio']);
  });

  it('prints a balance, grants credits, and refuses bad amounts with a code', async () => {
    expect((await run('grant', 'demo-user', 'bonus', '12.5', '--db', db)).out).toMatch(
      /granted 12.5 bonus credits/,
    );
    expect((await run('balance', 'demo-user', '--db', db)).out).toMatch(
      /demo-user: 2511.41 credits available/,
    );
    const bad = await run('grant', 'demo-user', 'bonus', '-1', '--db', db);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.err).toContain('amount_not_positive');
  });

  it('lists charges as a table, as JSON, and as CSV', async () => {
    const table = await run('charges', 'demo-user', '--db', db);
    expect(table.out).toMatch(/time\s+operation\s+model\s+outcome\s+credits\s+money\s+thread/);
    expect(table.out).toMatch(/prompt\.run\s+gpt-4o\s+succeeded\s+1\.09\s+USD 0\.0109/);
    const json = JSON.parse((await run('charges', 'demo-user', '--db', db, '--json')).out);
    expect(json.data).toHaveLength(1);
    const csv = (await run('charges', 'demo-user', '--db', db, '--csv')).out.split('\r\n');
    expect(csv[0]).toMatch(/^id,created_at,operation/);
    expect(csv).toHaveLength(2);
    expect(JSON.parse((await run('balance', 'demo-user', '--db', db, '--json')).out).available).toBe(
      '2498.91',
    );
  });
});

describe('tally init and import', () => {
  it('prints the first admin key once, and refuses to make a second first key', async () => {
    const db = join(directory, 'init.db');
    // Without a configuration, nothing is made: the line says how to name one.
    const bare = await run('init', '--db', db);
    expect([bare.code, bare.err]).toEqual([
      2,
      expect.stringMatching(/^no configuration: pass --config FILE/),
    ]);
    expect(existsSync(db)).toBe(false);
    const first = await run('init', '--db', db, '--config', 'prompt-marketplace');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/admin key \(shown once, keep it safe\): sk_admin_\S{20,}/);
    const again = await run('init', '--db', db);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already initialised');
  });

  it('imports a price book as a new version only when prices change, and accounts with grants once', async () => {
    const db = join(directory, 'import.db');
    const file = join(directory, 'import.yaml');
    const app_builder = new URL('../../examples/app-builder.yaml', import.meta.url).pathname;
    writeFileSync(
      file,
      `${readFileSync(app_builder, 'utf8')}
accounts:
  - id: maker
    timezone: Europe/Lisbon
    grants:
      - { kind: free, amount: "1000", expires_at: "2030-01-01T00:00:00Z" }
      - { kind: purchased, amount: "500" }
`,
    );
    const first = await run('import', file, '--db', db, '--config', 'prompt-marketplace', '--json');
    expect(JSON.parse(first.out)).toEqual({ price_version: 2, accounts: 1, grants: 2 });
    const second = await run('import', file, '--db', db, '--json');
    expect(JSON.parse(second.out)).toEqual({ price_version: null, accounts: 1, grants: 2 });
    // 1,500 imported plus the 2,000 free credits every account of the database's preset gets.
    expect((await run('balance', 'maker', '--db', db)).out).toContain('maker: 3500 credits available');
    const prices = JSON.parse((await run('prices', '--db', db, '--json')).out);
    expect(prices).toMatchObject({ version: 2, credit_value: { amount_per_credit: '0.001' } });
    expect((await run('verify', '--db', db)).code).toBe(0);
  });
});

describe('tally import of the file a database was set up with', () => {
  it('publishes nothing, provider-derived rates and model order included', async () => {
    const db = join(directory, 'same.db');
    const preset = new URL('../../examples/prompt-marketplace.yaml', import.meta.url).pathname;
    expect((await run('init', '--db', db, '--config', preset)).code).toBe(0);
    const imported = await run('import', preset, '--db', db, '--json');
    expect(JSON.parse(imported.out)).toMatchObject({ price_version: null });
    expect(JSON.parse((await run('prices', '--db', db, '--json')).out).version).toBe(1);
  });
});

describe('tally simulate', () => {
  const preset = new URL('../../examples/prompt-marketplace.yaml', import.meta.url).pathname;
  const sample = new URL('../../examples/prompt-marketplace-trace.csv', import.meta.url).pathname;

  it('runs the shipped sample trace and prints the report, as text, JSON and an HTML page with charts', async () => {
    const text = await run('simulate', '--config', preset, '--trace', sample);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/1000 rows, 20 accounts/);
    expect(text.out).toMatch(/expired \(breakage\)\s+free [\d.]+/);
    expect(text.out).toMatch(/credits per usable output: [\d.]+/);
    const report = join(directory, 'report.html');
    const json = await run('simulate', '--config', preset, '--trace', sample, '--json', '--report', report);
    const parsed = JSON.parse(json.out);
    expect(Number(parsed.total.expired.free)).toBeGreaterThan(0);
    expect(parsed.rows).toBe(1000);
    const html = readFileSync(report, 'utf8');
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html).toContain('Breakage: credits expired by month and kind');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('compares two configurations on one trace, and lists the accounts that fare differently', async () => {
    const stricter = join(directory, 'stricter.yaml');
    writeFileSync(
      stricter,
      readFileSync(preset, 'utf8').replace('max: 100, kinds: [free]', 'max: 0.1, kinds: [free]'),
    );
    const compared = await run('simulate', '--config', preset, '--trace', sample, '--compare', stricter);
    expect(compared.code).toBe(0);
    expect(compared.out).toMatch(/accounts whose outcome changes most:/);
    expect(compared.out).toMatch(/limit free_daily ×\d+/);
  });

  it('generates a trace, and says in one line what is wrong with a bad one', async () => {
    const generated = join(directory, 'generated.csv');
    expect((await run('simulate', '--config', preset, '--generate', '50', '--out', generated)).out).toBe(
      `wrote 50 rows to ${generated}`,
    );
    expect(readFileSync(generated, 'utf8').split('\n')[0]).toMatch(
      /^timestamp,account,timezone,operation,model/,
    );
    const bad = join(directory, 'bad.csv');
    writeFileSync(bad, 'timestamp,account,operation\n2027-01-01T00:00:00Z,ann,video.make\n');
    const refused = await run('simulate', '--config', preset, '--trace', bad);
    expect([refused.code, refused.err]).toEqual([
      2,
      expect.stringMatching(/^.*bad\.csv: line 2: operation "video\.make" is not in the price book/),
    ]);
    expect(refused.err.split('\n')).toHaveLength(1);
    expect((await run('simulate', '--config', preset)).err).toMatch(/--trace FILE/);
  });
});

describe('tally against a running server (--url, through the SDK)', () => {
  it('reads balances and prices, grants and lists charges over HTTP', async () => {
    const { openTestTally } = await import('../../test/helpers.ts');
    const { startServer } = await import('../http/server.ts');
    const { tally, clock } = await openTestTally();
    const admin = 'sk_admin_cli_remote_0123456789';
    await tally.access.createKey({ scope: 'admin', name: 'cli', secret: admin });
    await tally.putAccount({ id: 'remote', kind: 'user' });
    const server = await startServer({ tally, port: 0, test_clock: clock });
    try {
      const remote = ['--url', server.url, '--key', admin];
      expect((await run('grant', 'remote', 'bonus', '42', ...remote)).out).toMatch(
        /granted 42 bonus credits to remote/,
      );
      expect((await run('balance', 'remote', ...remote)).out).toContain('remote: 42 credits available');
      await tally.charge({ account: 'remote', operation: 'web.extract', usage: {} });
      expect((await run('charges', 'remote', ...remote)).out).toMatch(/web\.extract\s+succeeded\s+8/);
      expect(JSON.parse((await run('prices', '--url', server.url, '--json')).out).version).toBe(1);
      const refused = await run('grant', 'remote', 'bonus', '-1', ...remote);
      expect(refused).toMatchObject({ code: 2 });
      expect(refused.err).toContain('amount_not_positive');
      // The code once, then what the server said.
      const stranger = await run(
        'balance',
        'remote',
        '--url',
        server.url,
        '--key',
        'sk_read_wrong_0123456789',
      );
      expect(stranger).toMatchObject({ code: 2 });
      expect(stranger.err).toMatch(/^error unauthenticated: (?!unauthenticated)/);
    } finally {
      await server.close();
    }
  });
});

describe('tally keys', () => {
  it('makes, lists and revokes secret keys of a local database, audited as the CLI', async () => {
    const db = join(directory, 'keys.db');
    expect((await run('init', '--db', db, '--config', 'prompt-marketplace')).code).toBe(0);
    const made = await run('keys', 'create', '--scope', 'read', '--name', 'reporting', '--db', db, '--json');
    const key = JSON.parse(made.out) as { id: string; secret: string; scope: string };
    expect([key.scope, key.secret]).toEqual(['read', expect.stringMatching(/^sk_read_/)]);
    const listed = await run('keys', 'list', '--db', db);
    expect(listed.out).toMatch(new RegExp(`${key.id}\\s+read\\s+sk_read_\\S*…\\s+reporting`));
    expect(listed.out).not.toContain(key.secret);
    expect((await run('keys', 'revoke', key.id, '--db', db)).out).toBe(`revoked ${key.id}`);
    expect((await run('keys', 'revoke', key.id, '--db', db)).out).toBe(`${key.id} was already revoked`);
    const bad = await run('keys', 'create', '--scope', 'owner', '--db', db);
    expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/^error invalid_request: scope/)]);
    const tally = await createTally({ database: db });
    const audit = await tally.listAudit({});
    expect(audit.data.map((entry) => [entry.actor, entry.action])).toEqual(
      expect.arrayContaining([
        ['cli', 'create_api_key'],
        ['cli', 'revoke_api_key'],
      ]),
    );
    await tally.close();
  });
});
