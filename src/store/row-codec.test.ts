import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../domain/journal.ts';
import { decodeJournalLines, encodeJournalLines } from './row-codec.ts';

describe('journal lines in their transaction row', () => {
  const entries: JournalEntry[] = [
    { book: 'hold', grant_id: 'gr_1', reservation_id: 'rs_1', amount_micros: -9_007_199_254_740_993n },
    { book: 'consumed', grant_id: 'gr_1', reservation_id: null, amount_micros: 9_007_199_254_740_993n },
  ];

  it('come back exactly as written, amounts beyond 2^53 included', () => {
    expect(decodeJournalLines(encodeJournalLines(entries))).toEqual(entries);
  });

  it('read as nothing, not as a crash, where a hand edit left something else', () => {
    for (const edited of [
      'not json',
      '{}',
      '[["grant", "gr_1", null]]',
      '[["gift", "gr_1", null, "5"]]',
      '[["grant", "gr_1", null, 5]]',
      '[["grant", "gr_1", null, "5.5"]]',
      '[["grant", 7, null, "5"]]',
    ]) {
      expect(decodeJournalLines(edited), edited).toBeNull();
    }
  });
});
