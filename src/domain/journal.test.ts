import { describe, expect, it } from 'vitest';
import { chainTransaction, GENESIS_HASH, hashTransaction, move } from './journal.ts';

const draft = {
  id: 'jtx_1',
  account_id: 'alice',
  type: 'grant_issue' as const,
  reference_id: 'gr_1',
  created_at_ms: 0,
  entries: move('issued', 'grant', 5n, { grant_id: 'gr_1' }),
};

describe('journal', () => {
  it('chains transactions: each hash covers the previous one', () => {
    const first = chainTransaction({ sequence: 0, hash: GENESIS_HASH }, draft);
    const second = chainTransaction({ sequence: 1, hash: first.hash }, { ...draft, id: 'jtx_2' });
    expect(first.sequence).toBe(1);
    expect(second.previous_hash).toBe(first.hash);
    const { hash, ...unhashed } = second;
    expect(hashTransaction(unhashed)).toBe(hash);
    expect(
      hashTransaction({ ...unhashed, entries: move('issued', 'grant', 6n, { grant_id: 'gr_1' }) }),
    ).not.toBe(hash);
  });

  it('refuses a transaction that does not balance or moves nothing', () => {
    const unbalanced = {
      ...draft,
      entries: [{ book: 'grant' as const, grant_id: 'gr_1', reservation_id: null, amount_micros: 5n }],
    };
    expect(() => chainTransaction({ sequence: 0, hash: GENESIS_HASH }, unbalanced)).toThrow(/invariant/);
    const lopsided = {
      ...draft,
      entries: [
        ...move('issued', 'grant', 5n, { grant_id: 'gr_1' }),
        { ...draft.entries[0]!, amount_micros: 1n },
      ],
    };
    expect(() => chainTransaction({ sequence: 0, hash: GENESIS_HASH }, lopsided)).toThrow(/sum to zero/);
    expect(() =>
      chainTransaction(
        { sequence: 0, hash: GENESIS_HASH },
        { ...draft, entries: move('issued', 'grant', 0n, { grant_id: 'g' }) },
      ),
    ).toThrow(/moves nothing/);
  });
});
