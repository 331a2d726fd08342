/**
 * API fuzzing (issue 16): thousands of generated requests over every route of the OpenAPI
 * document — wrong, missing and hostile bodies, queries, ids, methods and credentials, with
 * enough valid-looking ones among them to pass validation and reach the engine. Whatever
 * comes, the server never answers 5xx, every 4xx is problem+json with a code from the closed
 * set, and a 4xx changes nothing: a fingerprint of every table of the store is the same after.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultCodes } from '../src/domain/results.ts';
import { createApp } from '../src/http/app.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { openTestTally } from './helpers.ts';

/** Requests per run: at least the 2,000 the issue asks for. */
const REQUESTS = 2_400;
const ADMIN = 'sk_admin_fuzz_0123456789abcdef';

const directory = mkdtempSync(join(tmpdir(), 'tally-fuzz-'));
const file = join(directory, 'fuzz.db');
let app: ReturnType<typeof createApp>;
let inspector: Database.Database;
const credentials: Record<string, string | undefined> = {
  none: undefined,
  garbage: 'sk_not_a_key_0123456789',
};
const ids: Record<string, string> = {};

interface Operation {
  method: string;
  path: string;
  body_fields: string[];
  query_fields: string[];
}
let operations: Operation[] = [];

/** Every row of every table, hashed: what "nothing changed" is checked against. */
function fingerprint(): string {
  const hash = createHash('sha256');
  const tables = inspector
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all() as { name: string }[];
  for (const { name } of tables) {
    hash.update(name);
    // Sorted as text: a WITHOUT ROWID table (spend_buckets) has no rowid to order by.
    const rows = (inspector.prepare(`SELECT * FROM "${name}"`).raw().all() as unknown[][]).map((row) =>
      JSON.stringify(row, (_key, value) => (typeof value === 'bigint' ? String(value) : value)),
    );
    for (const row of rows.sort()) hash.update(row);
  }
  return hash.digest('hex');
}

beforeAll(async () => {
  const { tally, clock } = await openTestTally({ store: new SqliteStore({ filename: file }) });
  app = createApp({ tally, test_clock: clock });
  await tally.access.createKey({ scope: 'admin', name: 'fuzz', secret: ADMIN });
  credentials.admin = ADMIN;
  credentials.write = (await tally.access.createKey({ scope: 'write', name: 'w' })).secret;
  credentials.read = (await tally.access.createKey({ scope: 'read', name: 'r' })).secret;
  for (const id of ['alice', 'bob']) {
    await tally.putAccount({ id, kind: 'user' });
    await tally.issueGrant({ account: id, kind: 'bonus', amount: '1000' });
  }
  credentials.customer = (await tally.access.mintCustomerToken('alice')).token;
  ids.reservation = (await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '5' })).id;
  ids.charge = (await tally.charge({ account: 'bob', operation: 'web.extract', usage: {} })).id;
  ids.grant = (await tally.listGrants('alice'))[0]!.id;
  ids.key = (await tally.access.listKeys()).data[0]!.id;
  inspector = new Database(file, { readonly: true });

  const document = (await (await app.request('/openapi.json')).json()) as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { name: string; in: string }[];
          requestBody?: { content: { 'application/json': { schema: { properties?: object } } } };
        }
      >
    >;
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      body_fields: Object.keys(operation.requestBody?.content['application/json'].schema.properties ?? {}),
      query_fields: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    })),
  );
});
afterAll(() => {
  inspector?.close();
  rmSync(directory, { recursive: true, force: true });
});

/** Values that pass some validation and trip other parts: amounts, ids, kinds, extremes. */
const plausible = fc.constantFrom<unknown>(
  'alice',
  'bob',
  'nobody',
  'chat.fast',
  'web.extract',
  'image.standard',
  'bonus',
  'free',
  'day',
  'rolling_24h',
  'succeeded',
  'failed',
  '1',
  '0',
  '-1',
  '0.25',
  '1.0000001',
  '1e3',
  '999999999999999999999999',
  'NaN',
  '',
  ' ',
  '2026-03-01T10:00:00Z',
  '3000-01-01T00:00:00Z',
  'not a date',
  'http://169.254.169.254/',
  'https://hooks.example.com/x',
  'Europe/Paris',
  'Mars/Olympus',
  '=HYPERLINK("x")',
  'x'.repeat(600),
  0,
  1,
  -1,
  2.5,
  1e21,
  8.64e12,
  true,
  null,
  [],
  {},
  { input_tokens: 10 },
  { images: -1 },
  ['*'],
  ['balance.low'],
);
const value = fc.oneof(plausible, fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 40 }));
const id = fc.oneof(
  fc.constantFrom('alice', 'bob', 'nobody', '%2e%2e', 'x'.repeat(300), '1', 'free_daily'),
  fc.constantFrom('reservation', 'charge', 'grant', 'key').map((name) => ids[name]!),
  fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/),
);

const request = fc.record({
  operation: fc.nat(),
  // Mostly the route's own method; now and then another.
  other_method: fc.oneof(
    { arbitrary: fc.constant(null), weight: 9 },
    { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), weight: 1 },
  ),
  credential: fc.constantFrom('admin', 'admin', 'write', 'read', 'customer', 'none', 'garbage'),
  path_ids: fc.array(id, { minLength: 2, maxLength: 2 }),
  body_kind: fc.constantFrom('fields', 'fields', 'fields', 'json', 'text', 'none'),
  fields: fc.array(fc.tuple(fc.option(fc.nat(), { freq: 4 }), value), { maxLength: 6 }),
  json: fc.jsonValue({ maxDepth: 3 }),
  text: fc.string({ maxLength: 60 }),
  query: fc.array(fc.tuple(fc.option(fc.nat(), { freq: 4 }), fc.string({ maxLength: 12 })), { maxLength: 3 }),
  idempotency_key: fc.option(fc.oneof(fc.constant('fuzz-key'), fc.string({ maxLength: 300 }))),
});

describe('API fuzzing', () => {
  it(`never answers 5xx; every 4xx is problem+json with a known code and changes nothing (${REQUESTS} requests)`, async () => {
    const codes = new Set<string>(Object.keys(resultCodes));
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const operation = operations[generated.operation % operations.length]!;
        const method = generated.other_method ?? operation.method;
        let path_index = 0;
        const path = operation.path.replace(/\{\w+\}/g, () =>
          encodeURIComponent(generated.path_ids[path_index++ % 2]!),
        );
        const named = (pick: number | null, fields: string[], fallback: string) =>
          pick === null || fields.length === 0 ? fallback : fields[pick % fields.length]!;
        const query = new URLSearchParams(
          generated.query.map(([pick, text]): [string, string] => [
            named(pick, operation.query_fields, 'unknown'),
            text,
          ]),
        ).toString();
        const body =
          generated.body_kind === 'fields'
            ? JSON.stringify(
                Object.fromEntries(
                  generated.fields.map(([pick, field_value]) => [
                    named(pick, operation.body_fields, 'unknown_field'),
                    field_value,
                  ]),
                ),
              )
            : generated.body_kind === 'json'
              ? JSON.stringify(generated.json)
              : generated.body_kind === 'text'
                ? generated.text
                : undefined;
        const credential = credentials[generated.credential];
        const before = fingerprint();
        const response = await app.request(`${path}${query ? `?${query}` : ''}`, {
          method,
          headers: {
            ...(credential ? { authorization: `Bearer ${credential}` } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(generated.idempotency_key !== null ? { 'idempotency-key': generated.idempotency_key } : {}),
          },
          body: method === 'GET' || method === 'HEAD' ? undefined : body,
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const text = await response.text();
        const where = `${method} ${path}?${query} ${body ?? ''} → ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, where).toBeLessThan(500);
        if (response.status >= 400) {
          expect(response.headers.get('content-type'), where).toBe('application/problem+json');
          const problem = JSON.parse(text) as { code: string; status: number };
          expect(codes.has(problem.code), where).toBe(true);
          expect(problem.status, where).toBe(response.status);
          expect(fingerprint(), `state changed: ${where}`).toBe(before);
        }
      }),
      { numRuns: REQUESTS },
    );
    // The generator reached past validation: some requests succeeded and many kinds were refused.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    expect([...statuses.keys()].filter((status) => status >= 400).length).toBeGreaterThanOrEqual(5);
  });
});
