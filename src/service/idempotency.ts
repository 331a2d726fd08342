/**
 * Idempotency (STYLE rule 5): a command's key is namespaced by the command, stored with the
 * first result in the same transaction as the change, and a replay answers that result. The
 * same key with a different request is refused. Refusals are not stored: they changed nothing,
 * so a retry after a top-up may succeed.
 */
import { createHash } from 'node:crypto';
import { IDEMPOTENCY_KEY_LENGTH_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { StoreTransaction } from '../store/store.ts';

/** JSON with object keys sorted and bigints as strings, so equal requests hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner === 'bigint') return inner.toString();
    if (inner instanceof Map)
      return Object.fromEntries([...inner.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return inner;
  });
}

export function validateIdempotencyKey(key: string | undefined): void {
  if (key === undefined) return;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
    throw new TallyError(
      'idempotency_key_invalid',
      `an idempotency key has 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} characters`,
    );
  }
}

export interface Idempotent<Result> {
  value: Result;
  replayed: boolean;
}

/**
 * When a command's key is looked for. `first`: before the command runs, a read of its own (in
 * process it costs nothing). `at_commit`: not before, where writes wait for the COMMIT
 * (PostgreSQL) — the key is claimed with the command's writes, so a warm command stays one round
 * trip; if it was taken the claim fails the transaction (IdempotencyKeyTaken) and the caller runs
 * the command again with `first`, which answers the first record.
 */
export type KeyLookup = 'first' | 'at_commit';

export async function runIdempotent<Result>(
  transaction: StoreTransaction,
  request: {
    scope: string;
    key: string | undefined;
    input: unknown;
    now_ms: number;
    lookup: KeyLookup;
    /** What the record keeps of the answer (and a replay answers); all of it by default. */
    record?: ((value: Result) => unknown) | undefined;
  },
  work: () => Promise<Result>,
): Promise<Idempotent<Result>> {
  if (request.key === undefined) return { value: await work(), replayed: false };
  const request_hash = createHash('sha256').update(canonicalJson(request.input)).digest('hex');
  const replay = async (): Promise<Idempotent<Result> | undefined> => {
    const existing = await transaction.getIdempotency(request.scope, request.key!);
    if (!existing) return undefined;
    if (existing.request_hash !== request_hash) {
      // The scope names the caller's namespace (an internal key id) before the command: only the command is said.
      const command = request.scope.slice(request.scope.lastIndexOf(':') + 1);
      throw new TallyError(
        'idempotency_key_reused',
        `this Idempotency-Key was already used for another ${command} request; send a new key for a new request`,
      );
    }
    return { value: JSON.parse(existing.response_json) as Result, replayed: true };
  };
  if (request.lookup === 'first') {
    const first = await replay();
    if (first) return first;
  }
  let value: Result;
  try {
    value = await work();
  } catch (error) {
    // The record was looked for before the command took its account's lock. Another process may
    // have run the same key meanwhile and committed while this one waited for the lock; the
    // refusal drawn under the lock (already settled, say) is then its own doing: answer its result.
    // Read again here, under the lock, the record is certain.
    if (error instanceof TallyError) {
      const committed_meanwhile = await replay();
      if (committed_meanwhile) return committed_meanwhile;
    }
    throw error;
  }
  await transaction.insertIdempotency({
    scope: request.scope,
    key: request.key,
    request_hash,
    response_json: JSON.stringify(request.record ? request.record(value) : value),
    created_at_ms: request.now_ms,
  });
  return { value, replayed: false };
}
