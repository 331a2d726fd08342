/**
 * `tally verify`: recomputes everything the journal implies and compares it with what is
 * stored. It reports, and changes nothing. Checked for every account:
 *
 * - the hash chain: sequences 1..n without gaps, each previous hash equal to the hash before,
 *   each hash recomputed from its transaction, and the account's head at the last one;
 * - every transaction sums to zero;
 * - every grant's remaining equals the sum of its `grant` entries and lies in 0..amount;
 * - every reservation holds (sum of its `hold` entries) its amount while held, nothing after;
 * - every charge's refunds (the grants issued for them) and compensations sum to its `refunded`
 *   and stay within it;
 * - the `creator` book holds the shares of the account's charges, less reversals, less what was
 *   paid out to the account as a creator;
 * - the spend buckets limits are measured from hold exactly what the account's charges spent, per
 *   quarter hour, scope and kind.
 */
import { GENESIS_HASH, hashTransaction, sumEntries } from '../domain/journal.ts';
import { spendBucketOf, spentByKind } from '../domain/spending.ts';
import type { SpendBucketRow, Store, StoreTransaction } from '../store/store.ts';

export interface VerifyProblem {
  account: string;
  check: 'chain' | 'balance' | 'grant' | 'hold' | 'refund' | 'creator' | 'spend';
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  accounts: number;
  transactions: number;
  problems: VerifyProblem[];
}

const ACCOUNTS_PER_PAGE = 500;
/** Journal transactions read at a time: an account's whole history is never in memory at once. */
const JOURNAL_TRANSACTIONS_PER_PAGE = 1_000;
const CHARGES_PER_PAGE = 1_000;

/** An account's journal in sequence order, read a page at a time. */
async function* journalOf(transaction: StoreTransaction, account_id: string) {
  for (let after_sequence = 0; ; ) {
    const page = await transaction.listJournal(account_id, {
      after_sequence,
      limit: JOURNAL_TRANSACTIONS_PER_PAGE,
    });
    yield* page;
    if (page.length < JOURNAL_TRANSACTIONS_PER_PAGE) return;
    after_sequence = page.at(-1)!.sequence;
  }
}

type Problem = (check: VerifyProblem['check'], message: string) => void;

/** What the journal posts to each grant and holds for each reservation. */
interface Books {
  grant: Map<string, bigint>;
  hold: Map<string, bigint>;
  /** The account's `creator` book: shares of its runs owed to creators, less its own payouts. */
  creator: bigint;
}

async function verifyAccount(
  transaction: StoreTransaction,
  account_id: string,
  report: VerifyReport,
): Promise<void> {
  const problem: Problem = (check, message) => report.problems.push({ account: account_id, check, message });
  const books = await checkChain(transaction, account_id, report, problem);
  const refunded_by_charge = await checkGrants(transaction, account_id, books.grant, problem);
  // A compensation gives charges back too: its parts count with the refund grants.
  for (const compensation of await transaction.listCompensations(account_id)) {
    for (const part of compensation.parts) {
      refunded_by_charge.set(
        part.charge_id,
        (refunded_by_charge.get(part.charge_id) ?? 0n) + part.amount_micros,
      );
    }
  }
  await checkRefunds(transaction, refunded_by_charge, problem);
  await checkHolds(transaction, account_id, books.hold, problem);
  await checkCharges(transaction, account_id, books.creator, problem);
}

/**
 * What the account's charges add up to, against what is kept of them: the creator book of its
 * chain holds what its runs owe creators (each charge's share less what refunds took back) less
 * what was paid out to it as a creator, and its spend buckets what each quarter hour's charges of
 * each scope drew of each kind.
 */
async function checkCharges(
  transaction: StoreTransaction,
  account_id: string,
  booked: bigint,
  problem: Problem,
): Promise<void> {
  let owed = -(await transaction.sumCreatorPayouts(account_id));
  const spent = new Map<string, bigint>();
  // Page by page, however many charges: verify reads everything, never a capped history.
  let after: { created_at_ms: number; id: string } | undefined;
  for (;;) {
    const page = await transaction.listCharges({ account_id }, { limit: CHARGES_PER_PAGE, after });
    for (const charge of page) {
      if (charge.creator) owed += charge.creator.share_micros - charge.creator.reversed_micros;
      const start_ms = spendBucketOf(charge.created_at_ms);
      for (const [kind, amount_micros] of spentByKind(charge.allocations)) {
        const key = bucketKey({ ...charge, project: charge.metadata.project ?? null, start_ms, kind });
        spent.set(key, (spent.get(key) ?? 0n) + amount_micros);
      }
    }
    if (page.length < CHARGES_PER_PAGE) break;
    after = { created_at_ms: page.at(-1)!.created_at_ms, id: page.at(-1)!.id };
  }
  if (owed !== booked) {
    problem(
      'creator',
      `the creator book holds ${booked} micro-credits; the charges' shares less payouts make ${owed}`,
    );
  }
  const kept = new Map(
    (await transaction.listSpendBuckets(account_id, 0)).map((bucket) => [
      bucketKey(bucket),
      bucket.spent_micros,
    ]),
  );
  for (const key of new Set([...spent.keys(), ...kept.keys()])) {
    if (spent.get(key) !== kept.get(key)) {
      problem(
        'spend',
        `the spend bucket ${key} holds ${kept.get(key) ?? 0n} micro-credits; its charges spent ${spent.get(key) ?? 0n}`,
      );
    }
  }
}

const bucketKey = (bucket: Omit<SpendBucketRow, 'account_id' | 'spent_micros'>) =>
  `${new Date(bucket.start_ms).toISOString()} ${bucket.operation}/${bucket.member ?? '-'}/${bucket.project ?? '-'}/${bucket.api_key_id ?? '-'} ${bucket.kind}`;

/**
 * The hash chain, transaction by transaction: in sequence, each following the one before,
 * unaltered and balanced, ending at the account's head. Sums what it posts per grant and hold.
 */
async function checkChain(
  transaction: StoreTransaction,
  account_id: string,
  report: VerifyReport,
  problem: Problem,
): Promise<Books> {
  const account = (await transaction.getAccount(account_id))!;
  let previous_hash = GENESIS_HASH;
  let expected_sequence = 1;
  const books: Books = { grant: new Map(), hold: new Map(), creator: 0n };
  let last: { sequence: number; hash: string } | undefined;
  for await (const entry of journalOf(transaction, account_id)) {
    report.transactions++;
    if (entry.sequence !== expected_sequence) {
      problem('chain', `transaction ${expected_sequence} is missing (next found is ${entry.sequence})`);
    } else if (entry.previous_hash !== previous_hash) {
      problem(
        'chain',
        `transaction ${entry.sequence} does not follow the hash of transaction ${entry.sequence - 1}`,
      );
    }
    const { hash, ...unhashed } = entry;
    if (hashTransaction(unhashed) !== hash) {
      problem(
        'chain',
        `transaction ${entry.sequence} (${entry.id}) was altered: its hash does not match its content`,
      );
    }
    const sum = sumEntries(entry.entries);
    if (sum !== 0n)
      problem(
        'balance',
        `transaction ${entry.sequence} (${entry.id}) sums to ${sum} micro-credits, not zero`,
      );
    for (const line of entry.entries) {
      if (line.book === 'grant' && line.grant_id) {
        books.grant.set(line.grant_id, (books.grant.get(line.grant_id) ?? 0n) + line.amount_micros);
      }
      if (line.book === 'creator') books.creator += line.amount_micros;
      if (line.book === 'hold' && line.reservation_id) {
        books.hold.set(line.reservation_id, (books.hold.get(line.reservation_id) ?? 0n) + line.amount_micros);
      }
    }
    previous_hash = hash;
    expected_sequence = entry.sequence + 1;
    last = entry;
  }
  if (
    (last?.sequence ?? 0) !== account.ledger.sequence ||
    (last?.hash ?? GENESIS_HASH) !== account.ledger.hash
  ) {
    problem(
      'chain',
      `the account's head is at transaction ${account.ledger.sequence}, the journal ends at ${last?.sequence ?? 0}`,
    );
  }
  return books;
}

/** Each grant's remaining equals what the journal posts to it, within 0..amount. Returns refunds per charge. */
async function checkGrants(
  transaction: StoreTransaction,
  account_id: string,
  grant_book: Map<string, bigint>,
  problem: Problem,
): Promise<Map<string, bigint>> {
  const refunded_by_charge = new Map<string, bigint>();
  for (const grant of await transaction.listGrants(account_id)) {
    if (grant.refund_of_charge_id !== null) {
      const charge_id = grant.refund_of_charge_id;
      refunded_by_charge.set(charge_id, (refunded_by_charge.get(charge_id) ?? 0n) + grant.amount_micros);
    }
    const booked = grant_book.get(grant.id) ?? 0n;
    if (booked !== grant.remaining_micros) {
      problem(
        'grant',
        `grant ${grant.id} has ${grant.remaining_micros} remaining, its entries sum to ${booked}`,
      );
    }
    if (grant.remaining_micros < 0n || grant.remaining_micros > grant.amount_micros) {
      problem(
        'grant',
        `grant ${grant.id} remaining ${grant.remaining_micros} is outside 0..${grant.amount_micros}`,
      );
    }
    grant_book.delete(grant.id);
  }
  for (const [grant_id, booked] of grant_book) {
    problem('grant', `entries post ${booked} micro-credits to grant ${grant_id}, which does not exist`);
  }
  return refunded_by_charge;
}

/** Refund grants point at a charge, sum to at most its credits, and to what it records as refunded. */
async function checkRefunds(
  transaction: StoreTransaction,
  refunded_by_charge: Map<string, bigint>,
  problem: Problem,
): Promise<void> {
  for (const [charge_id, refunded_micros] of refunded_by_charge) {
    const charge = await transaction.getCharge(charge_id);
    if (!charge) {
      problem(
        'refund',
        `refunds of ${refunded_micros} micro-credits point at charge ${charge_id}, which does not exist`,
      );
    } else if (refunded_micros > charge.credits_micros) {
      problem(
        'refund',
        `charge ${charge_id} of ${charge.credits_micros} micro-credits was refunded ${refunded_micros}`,
      );
    } else if (refunded_micros !== charge.refunded_micros) {
      problem(
        'refund',
        `charge ${charge_id} records ${charge.refunded_micros} refunded, its refund grants and compensations sum to ${refunded_micros}`,
      );
    }
  }
}

/** Each reservation holds what the journal holds for it: its amount while held, nothing after. */
async function checkHolds(
  transaction: StoreTransaction,
  account_id: string,
  hold_book: Map<string, bigint>,
  problem: Problem,
): Promise<void> {
  for (const reservation of await transaction.listReservations(account_id)) {
    const held = hold_book.get(reservation.id) ?? 0n;
    const expected = reservation.status === 'held' ? reservation.amount_micros : 0n;
    if (held !== expected) {
      problem(
        'hold',
        `reservation ${reservation.id} (${reservation.status}) holds ${held}, expected ${expected}`,
      );
    }
    hold_book.delete(reservation.id);
  }
  for (const [reservation_id, held] of hold_book) {
    if (held !== 0n)
      problem(
        'hold',
        `entries hold ${held} micro-credits for reservation ${reservation_id}, which does not exist`,
      );
  }
}

/** Verifies every account; `progress` hears how many there are, then each one done. */
export async function verifyStore(
  store: Store,
  progress: { start(total: number): void; tick(): void } = { start: () => {}, tick: () => {} },
  /** Only these accounts (each is checked whole); every account when absent. */
  only?: readonly string[],
): Promise<VerifyReport> {
  const report: VerifyReport = { ok: true, accounts: 0, transactions: 0, problems: [] };
  const account_ids: string[] = only ? [...only] : [];
  for (let after: string | null = null; !only; ) {
    const page: string[] = await store.read((transaction) =>
      transaction.listAccountIds(after, ACCOUNTS_PER_PAGE),
    );
    if (page.length === 0) break;
    account_ids.push(...page);
    after = page.at(-1)!;
  }
  progress.start(account_ids.length);
  for (const account_id of account_ids) {
    await store.read((transaction) => verifyAccount(transaction, account_id, report));
    report.accounts++;
    progress.tick();
  }
  report.ok = report.problems.length === 0;
  return report;
}
