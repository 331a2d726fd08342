/** Every mistake a user can make at the command line gets one line and exit code 2, never a stack trace. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dialects } from '../../test/dialects.ts';
import { main } from './main.ts';

const directory = mkdtempSync(join(tmpdir(), 'tally-cli-errors-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'tally', ...args], {
    log: (line) => out.push(line),
    error: (line) => err.push(line),
  });
  return { code, out, err };
}

/** One line on stderr, matching `pattern`, no stack frame in it, and exit code 2. */
async function expectOneLine(args: string[], pattern: RegExp): Promise<void> {
  const result = await run(...args);
  expect(result.code, result.err.join('\n')).toBe(2);
  expect(result.err).toHaveLength(1);
  expect(result.err[0]).toMatch(pattern);
  expect(result.err[0]).not.toMatch(/\n\s+at /);
}

describe('CLI failures as one clear line', () => {
  it('a configuration file that does not exist', async () => {
    await expectOneLine(
      ['init', '--db', join(directory, 'a.db'), '--config', join(directory, 'nope.yaml')],
      /^no configuration file at .*nope\.yaml \(the presets are prompt-marketplace, /,
    );
    expect(existsSync(join(directory, 'a.db'))).toBe(false);
  });

  it('a configuration that is not YAML', async () => {
    const file = join(directory, 'broken.yaml');
    writeFileSync(file, 'price_book:\n  operations: [unclosed\n');
    await expectOneLine(
      ['init', '--db', join(directory, 'b.db'), '--config', file],
      /broken\.yaml is not valid YAML \(line \d+\)/,
    );
  });

  it('a port already in use', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      await expectOneLine(
        ['serve', '--db', join(directory, 'c.db'), '--config', 'prompt-marketplace', '--port', String(port)],
        new RegExp(
          `^port ${port} is already in use: stop what listens there, or choose another with --port$`,
        ),
      );
    } finally {
      taken.close();
    }
  });

  it('PostgreSQL that does not answer', async () => {
    await expectOneLine(
      ['balance', 'alice', '--database-url', 'postgres://tally@127.0.0.1:1/tally'],
      /^cannot reach PostgreSQL at 127\.0\.0\.1:1 \(ECONNREFUSED\): is it running, and is --database-url/,
    );
  });

  it.runIf(dialects.includes('postgres'))('a PostgreSQL database that does not exist', async () => {
    const url = new URL(inject('postgres_url'));
    url.pathname = '/no_such_database';
    await expectOneLine(
      ['balance', 'alice', '--database-url', url.toString()],
      /database "no_such_database" does not exist: create it \(createdb\), or fix --database-url/,
    );
  });

  it('a file that is not a database, and a database that is not there', async () => {
    const file = join(directory, 'notes.txt');
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(100));
    await expectOneLine(['balance', 'alice', '--db', file], /^the --db file is not a Tally database/);
    await expectOneLine(
      ['balance', 'alice', '--db', join(directory, 'missing-dir', 'x.db')],
      /^no database at .*missing-dir\/x\.db: give the one to read with --db/,
    );
    // Reading never creates: neither the folder nor the file.
    expect(existsSync(join(directory, 'missing-dir'))).toBe(false);
  });

  it('a server that is not running at --url', async () => {
    // A port that was just free: nothing listens there.
    const probe: Server = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    await expectOneLine(
      ['balance', 'alice', '--url', `http://127.0.0.1:${port}`],
      new RegExp(
        `^cannot reach the Tally server at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): is it running`,
      ),
    );
  });

  it('a database set up with another configuration, opened with a changed price book', async () => {
    const db = join(directory, 'chatbot.db');
    const file = join(directory, 'chatbot.yaml');
    writeFileSync(
      file,
      'price_book:\n  version: 1\n  effective_at: "2026-01-01T00:00:00Z"\n  operations:\n    chat: { flat_credits: "1" }\n',
    );
    expect((await run('init', '--config', file, '--db', db)).code).toBe(0);
    // Later commands need no --config: the database holds it.
    expect((await run('balance', 'nobody', '--db', db)).err.join('')).toMatch(/account_not_found/);
    const other = join(directory, 'other.yaml');
    writeFileSync(other, readFileSync(file, 'utf8').replace('flat_credits: "1"', 'flat_credits: "2"'));
    await expectOneLine(
      ['grant', 'alice', 'bonus', '5', '--db', db, '--config', other],
      /^this database was set up with another configuration \(.*chatbot\.yaml\): price book version 1 is already published with other prices/,
    );
  });
});
