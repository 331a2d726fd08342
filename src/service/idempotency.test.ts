import { describe, expect, it } from 'vitest';
import { TallyError } from '../domain/results.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { IdempotencyKeyTaken } from '../store/store.ts';
import { canonicalJson, type KeyLookup, runIdempotent, validateIdempotencyKey } from './idempotency.ts';

const store = () => new SqliteStore({ filename: ':memory:' });
const request = (lookup: KeyLookup, input: unknown = { amount: '1' }) => ({
  scope: 'issue_grant',
  key: 'k1',
  input,
  now_ms: 0,
  lookup,
});

describe('idempotency', () => {
  it('hashes requests by content: object keys in any order and bigints as text are the same request', () => {
    expect(canonicalJson({ b: 1n, a: { d: [2], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [2] }, b: '1' }),
    );
    expect(
      canonicalJson(
        new Map([
          ['y', 1],
          ['x', 2],
        ]),
      ),
    ).toBe('{"x":2,"y":1}');
  });

  it('refuses keys that are empty or longer than the limit', () => {
    expect(() => validateIdempotencyKey('')).toThrow(TallyError);
    expect(() => validateIdempotencyKey('k'.repeat(256))).toThrow(TallyError);
    expect(() => validateIdempotencyKey('k'.repeat(255))).not.toThrow();
  });

  it('looking first: runs once, replays the first answer, refuses the key with another request', async () => {
    const tally_store = store();
    let runs = 0;
    const work = async () => ({ run: ++runs });
    const once = () =>
      tally_store.transaction((transaction) => runIdempotent(transaction, request('first'), work));
    expect(await once()).toEqual({ value: { run: 1 }, replayed: false });
    expect(await once()).toEqual({ value: { run: 1 }, replayed: true });
    await expect(
      tally_store.transaction((transaction) =>
        runIdempotent(transaction, request('first', { amount: '2' }), work),
      ),
    ).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    expect(runs).toBe(1);
  });

  it('claiming at commit: a key already taken fails the claim, so the caller looks again', async () => {
    const tally_store = store();
    const work = async () => ({ secret: 'shown once' });
    await tally_store.transaction((transaction) =>
      runIdempotent(transaction, { ...request('at_commit'), record: () => ({ secret: null }) }, work),
    );
    await expect(
      tally_store.transaction((transaction) => runIdempotent(transaction, request('at_commit'), work)),
    ).rejects.toBeInstanceOf(IdempotencyKeyTaken);
    // What the record kept, and so what a replay answers: never the secret.
    expect(
      await tally_store.transaction((transaction) => runIdempotent(transaction, request('first'), work)),
    ).toEqual({ value: { secret: null }, replayed: true });
  });

  it('answers the first result when the work is refused because that first run already happened', async () => {
    const tally_store = store();
    await tally_store.transaction((transaction) =>
      runIdempotent(transaction, request('first'), async () => 'settled'),
    );
    // As on a second process that looked before the first committed: the refusal drawn under the lock is its own doing.
    const refused = async (): Promise<string> => {
      throw new TallyError('reservation_already_settled');
    };
    expect(
      await tally_store.transaction((transaction) =>
        runIdempotent(transaction, request('at_commit'), refused),
      ),
    ).toEqual({ value: 'settled', replayed: true });
  });
});
