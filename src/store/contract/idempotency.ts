/** The store contract, idempotency records: each key's first answer. */
import { beforeEach, expect, it } from 'vitest';
import { IdempotencyKeyTaken, type Store } from '../store.ts';

import { T0 } from './fixtures.ts';

export function idempotencyContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('keeps one idempotency record per scope and key', async () => {
    const row = {
      scope: 'reserve',
      key: 'k1',
      request_hash: 'h',
      response_json: '{"id":"rsv_1"}',
      created_at_ms: T0,
    };
    await store.transaction((tx) => tx.insertIdempotency(row));
    expect(await store.read((tx) => tx.getIdempotency('reserve', 'k1'))).toEqual(row);
    expect(await store.read((tx) => tx.getIdempotency('settle', 'k1'))).toBeUndefined();
    await store.transaction((tx) => tx.insertIdempotency({ ...row, scope: 'settle' }));
    await expect(store.transaction((tx) => tx.insertIdempotency(row))).rejects.toBeInstanceOf(
      IdempotencyKeyTaken,
    );
  });
}
