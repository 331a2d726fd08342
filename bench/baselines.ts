/**
 * The baselines every figure is compared with, measured in the same run on the same machine:
 * the least work a reserve+settle can be, done with the raw drivers, and a bare HTTP route.
 */
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { Hono } from 'hono';
import pg from 'pg';
import { httpLoad } from './http-load.ts';
import { closedLoop, type Measured } from './measure.ts';

/** Raw better-sqlite3: select the grant, hold, settle and write two entries; 100 pairs a transaction, FULL sync. */
export function sqliteBaseline(file: string, accounts: number, duration_ms: number): Measured {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE grants (id INTEGER PRIMARY KEY, remaining INTEGER NOT NULL, held INTEGER NOT NULL);
    CREATE TABLE holds (id INTEGER PRIMARY KEY, grant_id INTEGER NOT NULL, amount INTEGER NOT NULL, open INTEGER NOT NULL);
    CREATE TABLE entries (id INTEGER PRIMARY KEY, grant_id INTEGER NOT NULL, amount INTEGER NOT NULL);`);
  const insert = db.prepare('INSERT INTO grants (remaining, held) VALUES (1000000000000, 0)');
  db.transaction(() => {
    for (let index = 0; index < accounts; index++) insert.run();
  })();
  const select = db.prepare('SELECT * FROM grants WHERE id = ?');
  const hold_grant = db.prepare('UPDATE grants SET held = held + ? WHERE id = ?');
  const insert_hold = db.prepare('INSERT INTO holds (grant_id, amount, open) VALUES (?, ?, 1)');
  const settle_grant = db.prepare(
    'UPDATE grants SET remaining = remaining - ?, held = held - ? WHERE id = ?',
  );
  const close_hold = db.prepare('UPDATE holds SET open = 0 WHERE id = ?');
  const entry = db.prepare('INSERT INTO entries (grant_id, amount) VALUES (?, ?)');
  let next = 0;
  const batch = db.transaction(() => {
    for (let index = 0; index < 100; index++) {
      const grant = (next++ % accounts) + 1;
      select.get(grant);
      hold_grant.run(3_000_000, grant);
      const hold = insert_hold.run(grant, 3_000_000).lastInsertRowid;
      settle_grant.run(2_000_000, 3_000_000, grant);
      close_hold.run(hold);
      entry.run(grant, -2_000_000);
      entry.run(grant, 2_000_000);
    }
  });
  const started = performance.now();
  let pairs = 0;
  while (performance.now() - started < duration_ms) {
    batch();
    pairs += 100;
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return { operations: pairs, seconds, per_second: pairs / seconds, p50_ms: Number.NaN, p99_ms: Number.NaN };
}

/** Raw pg: reserve and settle each as one single-statement CTE, `pool_size` connections. */
export async function postgresBaseline(
  url: string,
  pool_size: number,
  accounts: number,
  hot: boolean,
  duration_ms: number,
): Promise<Measured> {
  const pool = new pg.Pool({ connectionString: url, max: pool_size });
  pool.on('error', () => undefined);
  await pool.query(`DROP TABLE IF EXISTS b_holds, b_entries, b_grants;
    CREATE TABLE b_grants (id BIGINT PRIMARY KEY, remaining BIGINT NOT NULL CHECK (remaining >= 0), held BIGINT NOT NULL);
    CREATE TABLE b_holds (id BIGSERIAL PRIMARY KEY, grant_id BIGINT NOT NULL, amount BIGINT NOT NULL, open BOOLEAN NOT NULL);
    CREATE TABLE b_entries (id BIGSERIAL PRIMARY KEY, grant_id BIGINT NOT NULL, amount BIGINT NOT NULL);
    INSERT INTO b_grants SELECT g, 1000000000000, 0 FROM generate_series(1, ${accounts}) g;`);
  const result = await closedLoop(pool_size * 4, duration_ms, async (_caller, index) => {
    const grant = hot ? 1 : (index % accounts) + 1;
    const hold = await pool.query(
      `WITH g AS (UPDATE b_grants SET held = held + 3000000 WHERE id = $1 AND remaining - held >= 3000000 RETURNING id)
       INSERT INTO b_holds (grant_id, amount, open) SELECT id, 3000000, true FROM g RETURNING id`,
      [grant],
    );
    await pool.query(
      `WITH h AS (UPDATE b_holds SET open = false WHERE id = $1 AND open RETURNING grant_id),
         g AS (UPDATE b_grants SET remaining = remaining - 2000000, held = held - 3000000 WHERE id = (SELECT grant_id FROM h) RETURNING id)
       INSERT INTO b_entries (grant_id, amount) SELECT id, a FROM g, (VALUES (-2000000), (2000000)) AS v(a)`,
      [hold.rows[0].id],
    );
  });
  await pool.end();
  return result;
}

/** A bare JSON POST echo on the same framework and server setup as Tally's API. */
export async function httpBaseline(connections: number, duration_ms: number): Promise<Measured> {
  const app = new Hono();
  app.post('/echo', async (context) => context.json(await context.req.json()));
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve({ server: started, port: info.port }),
      );
    },
  );
  const result = await httpLoad(
    {
      kind: 'echo',
      url: `http://127.0.0.1:${port}/echo`,
      body: JSON.stringify({ account: 'a1', operation: 'run', max_credits: '3' }),
    },
    { kind: 'closed', concurrency: connections, duration_ms },
  );
  await new Promise((resolve) => server.close(resolve));
  return result;
}
