/** JSON encodings of row fields that hold micro-credits, shared by every store adapter. */
import type { Allocation } from '../domain/drawdown.ts';
import { BOOKS, type Book, type JournalEntry } from '../domain/journal.ts';

export function encodeAllocations(allocations: readonly Allocation[]): string {
  return JSON.stringify(
    allocations.map((allocation) => [
      allocation.grant_id,
      allocation.kind,
      allocation.amount_micros.toString(),
    ]),
  );
}

export function decodeAllocations(encoded: string): Allocation[] {
  return (JSON.parse(encoded) as [string, string, string][]).map(([grant_id, kind, amount]) => ({
    grant_id,
    kind,
    amount_micros: BigInt(amount),
  }));
}

/**
 * A journal transaction's lines, kept in its own row: `[book, grant_id, reservation_id, amount]`
 * each, in line order, amounts as decimal strings (the same tuples its hash covers).
 */
export function encodeJournalLines(entries: readonly JournalEntry[]): string {
  return JSON.stringify(
    entries.map((entry) => [
      entry.book,
      entry.grant_id,
      entry.reservation_id,
      entry.amount_micros.toString(),
    ]),
  );
}

/**
 * The lines back, or `null` where the text is not lines as encodeJournalLines writes them: only
 * an edit by hand makes it so, and `tally verify` must then report the transaction, not stop.
 */
export function decodeJournalLines(encoded: string): JournalEntry[] | null {
  let lines: unknown;
  try {
    lines = JSON.parse(encoded);
  } catch {
    return null;
  }
  if (!Array.isArray(lines)) return null;
  const entries: JournalEntry[] = [];
  for (const line of lines) {
    if (!Array.isArray(line) || line.length !== 4) return null;
    const [book, grant_id, reservation_id, amount] = line as unknown[];
    if (!BOOKS.includes(book as Book) || typeof amount !== 'string' || !/^-?\d+$/.test(amount)) return null;
    if (
      (grant_id !== null && typeof grant_id !== 'string') ||
      (reservation_id !== null && typeof reservation_id !== 'string')
    )
      return null;
    entries.push({
      book: book as Book,
      grant_id: grant_id as string | null,
      reservation_id: reservation_id as string | null,
      amount_micros: BigInt(amount),
    });
  }
  return entries;
}
