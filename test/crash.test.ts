/**
 * Crash safety (issue 16): a real `tally serve` on its embedded SQLite file, under load, killed
 * with SIGKILL again and again. After every kill it starts on the same file; requests whose
 * outcome the client never heard are sent again under their idempotency keys. At the end no
 * acknowledged charge is lost, no request was executed twice, and `tally verify` is clean.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTally } from '../src/index.ts';
import { startTallyServe } from './serve-process.ts';

const KILLS = 20;
/** Clients sending at once while the server is killed. */
const CONCURRENCY = 12;
const ADMIN = 'sk_admin_crash_test_0123456789';
const GRANTED = 1_000_000;

const directory = mkdtempSync(join(tmpdir(), 'tally-crash-'));
const config = join(directory, 'tally.config.yaml');
const database = join(directory, 'tally.db');
writeFileSync(config, 'price_book:\n  operations:\n    run:\n      rates: { credits: "1" }\n');
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const start = () => startTallyServe(['--db', database, '--config', config], ADMIN);

/** One charge of 1 credit under `key` (also its request_id): its charge id, or undefined if unheard. */
async function charge(url: string, key: string): Promise<{ id: string; replayed: boolean } | undefined> {
  try {
    const response = await fetch(`${url}/v1/charges`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({
        account: 'load',
        operation: 'run',
        usage: { credits: 1 },
        metadata: { request_id: key },
      }),
    });
    if (response.status !== 200)
      throw new Error(`charge ${key}: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { id: string };
    return { id: body.id, replayed: response.headers.get('idempotent-replayed') === 'true' };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('charge ')) throw error;
    return undefined; // the connection died with the server: the outcome is unknown
  }
}

describe('kill -9 under load', () => {
  it(`loses no acknowledged write and duplicates none across ${KILLS} kills`, async () => {
    const acknowledged = new Map<string, string>();
    let unheard: string[] = [];
    let sent = 0;
    let first = true;
    for (let kill = 0; kill < KILLS; kill++) {
      const server = await start();
      if (first) {
        await fetch(`${server.url}/v1/accounts/load`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'user' }),
        });
        await fetch(`${server.url}/v1/accounts/load/grants`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${ADMIN}`,
            'content-type': 'application/json',
            'idempotency-key': 'seed',
          },
          body: JSON.stringify({ kind: 'purchased', amount: String(GRANTED) }),
        });
        first = false;
      }
      // What the last server died before answering is asked again, under the same keys.
      for (const key of unheard) {
        const answer = await charge(server.url, key);
        expect(answer, `retry of ${key} after a restart`).toBeDefined();
        acknowledged.set(key, answer!.id);
      }
      unheard = [];
      let running = true;
      const clients = Array.from({ length: CONCURRENCY }, async () => {
        while (running) {
          const key = `charge-${sent++}`;
          const answer = await charge(server.url, key);
          if (answer) acknowledged.set(key, answer.id);
          else {
            unheard.push(key);
            return;
          }
        }
      });
      // Killed mid-load, at a different moment each round.
      await new Promise((resolve) => setTimeout(resolve, 150 + ((kill * 37) % 200)));
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGKILL');
      await exited;
      running = false;
      await Promise.all(clients);
    }

    const server = await start();
    try {
      for (const key of unheard) acknowledged.set(key, (await charge(server.url, key))!.id);
      // Every acknowledged charge is there, and its key answers it again rather than charging twice.
      for (const [key, id] of [...acknowledged].filter((_, index) => index % 10 === 0)) {
        expect(await charge(server.url, key)).toEqual({ id, replayed: true });
      }
    } finally {
      server.child.kill('SIGKILL');
    }
    expect(acknowledged.size).toBeGreaterThan(KILLS * CONCURRENCY);

    const tally = await createTally({ database, config });
    try {
      const charges = await tally.exportCharges({ account: 'load' });
      const by_request = new Map<string, number>();
      for (const row of charges)
        by_request.set(row.metadata.request_id!, (by_request.get(row.metadata.request_id!) ?? 0) + 1);
      expect([...by_request.values()].filter((count) => count > 1)).toEqual([]);
      // Exactly the acknowledged requests were executed: none lost, none extra.
      expect(new Set(charges.map((row) => row.id))).toEqual(new Set(acknowledged.values()));
      expect((await tally.getBalance('load')).available).toBe(String(GRANTED - acknowledged.size));
      const report = await tally.verify();
      expect(report.problems).toEqual([]);
    } finally {
      await tally.close();
    }
  }, 300_000);
});
