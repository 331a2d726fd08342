/**
 * What a process remembers of the accounts it worked on, so the next command on one can skip
 * the round trip that reads it under the lock (PostgreSQL: reserve and settle in ONE round trip).
 *
 * THE RULES. Every command's work (commands/*.ts, run by Tally.run) lives by these, because of
 * this memory and the group commit that uses it:
 *
 * 1. A command's work may run more than once for one call, up to TRANSACTION_ATTEMPTS_MAX
 *    times: when a remembered account proves outdated, when its group commit fails, when an
 *    idempotency key was taken. So it must depend only on what it reads in its transaction and
 *    change nothing outside it; anything the process must learn afterwards goes in the
 *    command's `committed` hook. Enforced in tests by store/replay-check.ts, which runs every
 *    transaction twice and fails when the two runs ask for different writes.
 * 2. The rows the store hands a command are copies (`recall` copies, `copyOf`): a command may
 *    change them and write them back, never keep them past its transaction.
 * 3. Only the first account a transaction opens is remembered (and given its turn); any other
 *    account it opens is read afresh under its row lock. A command that opens two accounts (a
 *    creator's share, a team's pool) pays one more round trip for the second, and stays correct.
 *
 * HOW IT STAYS RIGHT. Every command that locks an account bumps its `version`, in any process. A
 * remembered account carries the version it had after this process's last command on it; a
 * command that uses the memory sends, ahead of its writes and in the same trip, a statement that
 * locks the account only if the version is still that one (and the price book version in force
 * is the one remembered). If another process moved the account meanwhile, that statement fails,
 * the transaction rolls back before any of its writes, and it runs again reading the account
 * afresh. The memory is an optimisation that can be wrong; the check makes it impossible to act
 * on a wrong one.
 *
 * Within the process, commands on one account take turns (as the row lock would make them do
 * anyway), so each starts from what the one before left, and none fails for a neighbour's bump.
 *
 * OWNED (SQLite). Where the store is the database's one writer in this process and can tell when
 * another connection committed (SQLite's `data_version`, read as each write transaction begins),
 * the memory needs no check: what it remembers is what the database holds, and it starts over
 * whenever anyone else wrote. Commands there already run one at a time, so no turns either. The
 * rows stay copies (rule 2): a command that fails mid-way leaves the memory as it was, its
 * accounts forgotten.
 */
import { klona } from 'klona/json';
import type { OpenedAccount, ReservationRow } from '../store.ts';

export { RememberedAccountOutdated } from './dialect.ts';

/**
 * A deep copy of rows (plain objects and arrays of strings, numbers and bigints): the memory and
 * the commands it serves must never share what either changes. klona/json walks the rows
 * directly; structuredClone serialises and parses them, several times slower on rows this small.
 */
export const copyOf: <Value>(value: Value) => Value = klona;

/** Accounts remembered per process at most; past it the memory starts over. */
export const ACCOUNTS_REMEMBERED_MAX = 10_000;
/** The same for an owned memory: reads it saves are the command's own, so it keeps more. */
export const ACCOUNTS_OWNED_MAX = 100_000;
/** An account with more reservations held than this is not remembered (they are all kept). */
export const HELD_RESERVATIONS_REMEMBERED_MAX = 256;

/** An account as a command leaves it: the row, what opening it reads, and every held reservation. */
export interface RememberedAccount {
  /** The account row's `version` after the command. */
  version: number;
  opened: Omit<OpenedAccount, 'lapsed_reservations' | 'reservation'>;
  /**
   * Every held reservation, in (created_at_ms, id) order; lapsed ones are found among them by
   * time. The rows are never changed in place (a change replaces the row), so copies share them.
   */
  held_reservations: ReservationRow[];
  /**
   * Settles when the transaction that left the account so has ended. A command may start from the
   * memory at once, but sends nothing before then: its check would run ahead of that commit.
   */
  settled?: Promise<void>;
}

/**
 * The group commit a command runs in (PostgreSQL): its commands share one transaction, and the
 * turns of the accounts they open, so each starts from what the one before left.
 */
export interface CommandGroup {
  /** Settles when the group starts to commit: its turns are over, as a lone transaction's are then. */
  turns_over: Promise<void>;
  /** Settles when the group's transaction has ended, either way. */
  settled: Promise<void>;
}

/**
 * A command of a group commit opened an account whose turn another transaction holds. The group
 * does not wait (two groups waiting for each other would never end): the command leaves the
 * group and runs again once that turn is over.
 */
export class AccountTurnTaken extends Error {
  constructor(
    account_id: string,
    readonly over: Promise<void>,
  ) {
    super(`account ${account_id} is another transaction's turn`);
    this.name = 'AccountTurnTaken';
  }
}

/** Who holds an account's turn: a group commit (its commands share it) or one transaction. */
interface Turn {
  group?: object;
  over: Promise<void>;
}

export class AccountMemory {
  private readonly accounts = new Map<string, RememberedAccount>();
  private readonly accounts_max: number;

  /** `owned`: the store is the only writer and clears the memory when another one wrote (see OWNED above). */
  constructor(readonly owned = false) {
    this.accounts_max = owned ? ACCOUNTS_OWNED_MAX : ACCOUNTS_REMEMBERED_MAX;
  }
  /** Per account, the last turn handed out: a command waits for it to be over before taking its own. */
  private readonly turns = new Map<string, Turn>();

  /**
   * Waits for the commands of this process already on `account_id`, then gives the caller the
   * account until it calls the returned release (after its transaction ends, either way).
   */
  async turn(account_id: string): Promise<() => void> {
    const before = this.turns.get(account_id)?.over;
    let release!: () => void;
    const mine: Turn = {
      over: new Promise<void>((resolve) => {
        release = resolve;
      }),
    };
    this.turns.set(account_id, mine);
    if (before) await before;
    return () => {
      if (this.turns.get(account_id) === mine) this.turns.delete(account_id);
      release();
    };
  }

  /**
   * Gives `group` the account's turn at once — its commands share it until `over` settles (when
   * the group starts to commit) — or throws AccountTurnTaken if another transaction holds it.
   */
  claim(account_id: string, group: object, over: Promise<void>): void {
    const turn = this.turns.get(account_id);
    if (turn?.group === group) return;
    if (turn) throw new AccountTurnTaken(account_id, turn.over);
    const mine: Turn = { group, over };
    this.turns.set(account_id, mine);
    void over.then(() => {
      if (this.turns.get(account_id) === mine) this.turns.delete(account_id);
    });
  }

  /** The remembered account, a copy the caller may change (held reservations: replace, never edit). */
  recall(account_id: string): RememberedAccount | undefined {
    const remembered = this.accounts.get(account_id);
    return (
      remembered && {
        version: remembered.version,
        opened: copyOf(remembered.opened),
        held_reservations: [...remembered.held_reservations],
        settled: remembered.settled,
      }
    );
  }

  /**
   * The remembered account itself, not a copy: an owned memory's working copy, which the command's
   * writes keep current. A command that fails has its accounts forgotten, so none is left half-changed.
   */
  current(account_id: string): RememberedAccount | undefined {
    return this.accounts.get(account_id);
  }

  /** Keeps what a committed command left (the caller lets go of it), unless a later version is known. */
  remember(account_id: string, account: RememberedAccount): void {
    const known = this.accounts.get(account_id);
    // Owned, the last command's account is the truth; checked, an older version must not replace a newer.
    if (!this.owned && known && known.version >= account.version) return;
    if (account.held_reservations.length > HELD_RESERVATIONS_REMEMBERED_MAX) {
      this.accounts.delete(account_id);
      return;
    }
    if (!known && this.accounts.size >= this.accounts_max) this.accounts.clear();
    this.accounts.set(account_id, account);
  }

  forget(account_id: string): void {
    this.accounts.delete(account_id);
  }

  /** Forgets every account: another connection wrote, or what was remembered may not have committed. */
  clear(): void {
    this.accounts.clear();
  }
}
