/**
 * The double-entry journal (SPEC C1). Every movement of credits is one journal transaction
 * whose entries sum to zero. Entries post to books:
 *
 * - `grant`    credits a grant still has (its remaining), per grant
 * - `hold`     credits a reservation holds, per reservation and grant
 * - `issued`   where issued credits come from (grows negative as grants are issued)
 * - `consumed` credits spent on runs (refunds move credits back out of it)
 * - `expired`  credits lost to expiry (breakage)
 * - `revoked`  credits taken back by the operator (and by a purchase's refund)
 * - `debt`     credits an account owes: a refunded purchase's credits that were already spent
 *              (refund policy `debt`), repaid from the next credits it receives
 * - `creator`  creators' earnings: a run's share moves here from `consumed` in the runner's
 *              chain, a refund takes it back the same way, and a payout moves it out in the
 *              creator's own chain, so the book summed over all chains is what is still owed
 * - `payout`   what was paid out to creators (in money, or as credits of a kind)
 *
 * Transactions of one account form a hash chain: each hash covers the transaction and the
 * previous hash, so an edited or deleted row breaks the chain where it was changed.
 */
import { createHash } from 'node:crypto';
import { assert } from './assert.ts';

export type Book =
  | 'grant'
  | 'hold'
  | 'issued'
  | 'consumed'
  | 'expired'
  | 'revoked'
  | 'debt'
  | 'creator'
  | 'payout';
export const BOOKS: readonly Book[] = [
  'grant',
  'hold',
  'issued',
  'consumed',
  'expired',
  'revoked',
  'debt',
  'creator',
  'payout',
];

export type JournalTransactionType =
  | 'grant_issue'
  | 'grant_expire'
  | 'grant_revoke'
  | 'grant_rollover'
  | 'reserve'
  | 'settle'
  | 'release'
  | 'reservation_expire'
  | 'charge'
  | 'refund'
  | 'purchase_refund'
  | 'debt_repay'
  | 'creator_reversal'
  | 'creator_payout';

export interface JournalEntry {
  book: Book;
  /** Every entry of the `grant` and `hold` books names its grant; system books may too, for traceability. */
  grant_id: string | null;
  reservation_id: string | null;
  amount_micros: bigint;
}

export interface JournalTransaction {
  id: string;
  account_id: string;
  /** 1, 2, 3… per account, without gaps. */
  sequence: number;
  type: JournalTransactionType;
  /** The grant, reservation or charge this transaction resolves or creates. */
  reference_id: string;
  created_at_ms: number;
  entries: JournalEntry[];
  previous_hash: string;
  hash: string;
}

/** The hash that starts every account's chain. */
export const GENESIS_HASH = '0'.repeat(64);

export function sumEntries(entries: readonly { amount_micros: bigint }[]): bigint {
  return entries.reduce((sum, entry) => sum + entry.amount_micros, 0n);
}

export function hashTransaction(transaction: Omit<JournalTransaction, 'hash'>): string {
  const canonical = JSON.stringify([
    transaction.previous_hash,
    transaction.account_id,
    transaction.sequence,
    transaction.id,
    transaction.type,
    transaction.reference_id,
    transaction.created_at_ms,
    transaction.entries.map((entry) => [
      entry.book,
      entry.grant_id,
      entry.reservation_id,
      entry.amount_micros.toString(),
    ]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface ChainHead {
  sequence: number;
  hash: string;
}

/**
 * Builds the next transaction of an account's chain. Entries of zero are dropped; a
 * transaction that does not balance is a bug and throws.
 */
export function chainTransaction(
  head: ChainHead,
  draft: Omit<JournalTransaction, 'sequence' | 'previous_hash' | 'hash'>,
): JournalTransaction {
  const entries = draft.entries.filter((entry) => entry.amount_micros !== 0n);
  assert(entries.length >= 2, `${draft.type} ${draft.reference_id} moves nothing`);
  assert(sumEntries(entries) === 0n, `${draft.type} ${draft.reference_id} does not sum to zero`);
  for (const entry of entries) {
    assert(entry.book !== 'grant' || entry.grant_id !== null, 'a grant entry names its grant');
    assert(
      entry.book !== 'hold' || (entry.grant_id !== null && entry.reservation_id !== null),
      'a hold entry names its reservation and grant',
    );
  }
  // Named field by field, not spread from the draft: on the hot path, objects spread from others
  // outlived the young generation's collections (bench/README.md, issue 23).
  const transaction: JournalTransaction = {
    id: draft.id,
    account_id: draft.account_id,
    sequence: head.sequence + 1,
    type: draft.type,
    reference_id: draft.reference_id,
    created_at_ms: draft.created_at_ms,
    entries,
    previous_hash: head.hash,
    hash: '',
  };
  transaction.hash = hashTransaction(transaction);
  return transaction;
}

/** Entries that move `amount` from one book to another for a grant (and reservation). */
export function move(
  from: Book,
  to: Book,
  amount_micros: bigint,
  refs: { grant_id: string; reservation_id?: string | null },
): JournalEntry[] {
  assert(amount_micros >= 0n, 'a movement is never negative');
  const reservation_id = refs.reservation_id ?? null;
  return [
    { book: from, grant_id: refs.grant_id, reservation_id, amount_micros: -amount_micros },
    { book: to, grant_id: refs.grant_id, reservation_id, amount_micros },
  ];
}
