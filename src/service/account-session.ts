/**
 * One command's view of one account inside a store transaction: it locks the account, loads
 * its open grants once, books what has fallen due, and posts journal transactions onto the
 * account's hash chain. Every command that moves credits goes through a session, so the
 * journal, the grant rows and the chain head always move together.
 */

import { assert } from '../domain/assert.ts';
import { DAY_MS } from '../domain/calendar.ts';
import { formatCredits } from '../domain/credits.ts';
import { type Allocation, type DrawableGrant, isInForce } from '../domain/drawdown.ts';
import { balanceAlert, type EventType } from '../domain/events.ts';
import {
  type Book,
  chainTransaction,
  type JournalEntry,
  type JournalTransactionType,
  move,
} from '../domain/journal.ts';
import { OPEN_GRANTS_PER_ACCOUNT_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { TallyConfig } from '../schema/config.ts';
import type {
  AccountLimitRow,
  AccountRow,
  GrantRow,
  ReservationRow,
  StoreTransaction,
  SubscriptionRow,
} from '../store/store.ts';
import type { IdGenerator } from './ids.ts';
import { startAutoRecharge } from './payments/auto-recharge.ts';
import { runSchedules } from './schedules.ts';

/** What a caller decides about a new grant; the session fills in the rest. */
export type NewGrant = Pick<
  GrantRow,
  | 'id'
  | 'kind'
  | 'priority'
  | 'amount_micros'
  | 'effective_at_ms'
  | 'expires_at_ms'
  | 'source'
  | 'reason'
  | 'allowed_operations'
  | 'refund_of_charge_id'
  | 'metadata'
  | 'allowance_id'
  | 'period_start_ms'
  | 'requires_subscription'
>;

export interface DueBooked {
  reservations_expired: number;
  grants_expired: number;
  grants_announced: number;
}

/** What every session of one command shares. */
export interface SessionEnvironment {
  ids: IdGenerator;
  now_ms: number;
  config: TallyConfig;
  /** Draw-down priority of each kind. */
  kind_priority: ReadonlyMap<string, number>;
}

/** Sessions opened in each store transaction, finished together before it commits. */
const sessions_of = new WeakMap<StoreTransaction, AccountSession[]>();

/** Raises the balance alerts of every account a transaction touched; call once, before commit. */
export async function finishSessions(transaction: StoreTransaction): Promise<void> {
  for (const session of sessions_of.get(transaction) ?? []) await session.finish();
  sessions_of.delete(transaction);
}

export class AccountSession {
  private open_grants: Map<string, GrantRow> | undefined;
  /** What opening the session booked as due. */
  booked_on_open: DueBooked = { reservations_expired: 0, grants_expired: 0, grants_announced: 0 };
  readonly now_ms: number;
  private readonly ids: IdGenerator;
  /** The account's subscription (active or ended), loaded when the session opens. */
  subscription: SubscriptionRow | undefined;
  /** The account's own limits, loaded when the session opens; a command that sets one reloads them. */
  account_limits: AccountLimitRow[] = [];
  /** The price book version in force when the session opened (null before the first takes effect). */
  price_version_in_force: number | null = null;
  /** The reservation the session was opened for, read under the lock, with due work booked. */
  reservation: ReservationRow | undefined;
  /** Every reservation held when the session opened, where the store had them all (OpenedAccount). */
  held_on_open: readonly ReservationRow[] | undefined;
  /** Set by a command that ended a recharge: it starts no other, so a failure never loops. */
  auto_recharge_quiet = false;

  private constructor(
    readonly transaction: StoreTransaction,
    readonly account: AccountRow,
    readonly environment: SessionEnvironment,
  ) {
    this.now_ms = environment.now_ms;
    this.ids = environment.ids;
  }

  /** Opens `account_id`, and with it `reservation_id` when the command works on a reservation. */
  static async open(
    transaction: StoreTransaction,
    account_id: string,
    environment: SessionEnvironment,
    reservation_id?: string,
  ): Promise<AccountSession> {
    // One round trip where the store allows: the lock, then what every command reads first.
    const opened = await transaction.openAccountForUpdate(account_id, environment.now_ms, reservation_id);
    if (!opened) throw new TallyError('account_not_found', `no account ${account_id}`);
    const session = new AccountSession(transaction, opened.account, environment);
    session.subscription = opened.subscription;
    session.account_limits = opened.account_limits;
    session.price_version_in_force = opened.price_version_in_force;
    session.reservation = opened.reservation;
    session.held_on_open = opened.held_reservations;
    session.open_grants = new Map(opened.open_grants.map((row) => [row.id, row]));
    const sessions = sessions_of.get(transaction) ?? [];
    sessions.push(session);
    sessions_of.set(transaction, sessions);
    session.booked_on_open = await session.bookDue(opened.lapsed_reservations);
    return session;
  }

  hasActiveSubscription(): boolean {
    return this.subscription?.status === 'active';
  }

  newGrantId(): string {
    return this.ids.next('gr', this.now_ms);
  }

  priorityOf(kind: string): number {
    const priority = this.environment.kind_priority.get(kind);
    assert(priority !== undefined, `kind ${kind} is configured`);
    return priority;
  }

  /** Writes an event to the outbox, in this transaction. */
  async emit(type: EventType, data: Record<string, unknown>): Promise<void> {
    await this.transaction.insertEvent({
      account_id: this.account.id,
      id: this.ids.next('evt', this.now_ms),
      type,
      data: { account: this.account.id, ...data },
      created_at_ms: this.now_ms,
    });
  }

  /** Usable credits now: open grants in force. Due work is booked, so rows are exact. */
  async usableMicros(): Promise<bigint> {
    let usable = 0n;
    for (const grant of (await this.openGrants()).values()) {
      if (isInForce(grant, this.now_ms) && this.usable(grant)) usable += grant.remaining_micros;
    }
    return usable;
  }

  /** A new account starts in the alert state of its opening balance: opening is not a crossing. */
  async startAlertQuietly(): Promise<void> {
    const available_micros = await this.usableMicros();
    this.account.balance_alert = balanceAlert(
      available_micros,
      this.account.low_balance_threshold_micros,
      'none',
    ).alert;
    await this.transaction.updateAccount(this.account);
  }

  /** Raises balance.low / balance.depleted when this command crossed the line. */
  async finish(): Promise<void> {
    const available_micros = await this.usableMicros();
    const { alert, fire } = balanceAlert(
      available_micros,
      this.account.low_balance_threshold_micros,
      this.account.balance_alert,
    );
    for (const type of fire) {
      await this.emit(type, {
        available: formatCredits(available_micros),
        threshold:
          this.account.low_balance_threshold_micros === null
            ? null
            : formatCredits(this.account.low_balance_threshold_micros),
      });
    }
    if (alert !== this.account.balance_alert) {
      this.account.balance_alert = alert;
      this.account.updated_at_ms = this.now_ms;
      await this.transaction.updateAccount(this.account);
    }
    // The threshold lives on the account row: a settle above it reads nothing more.
    const below = this.account.auto_recharge_below_micros;
    if (below !== null && available_micros < below && !this.auto_recharge_quiet)
      await startAutoRecharge(this, available_micros);
  }

  /** Copies auto-recharge's threshold onto the account (null: off). */
  async setAutoRechargeThreshold(threshold_micros: bigint | null): Promise<void> {
    if (this.account.auto_recharge_below_micros === threshold_micros) return;
    this.account.auto_recharge_below_micros = threshold_micros;
    this.account.updated_at_ms = this.now_ms;
    await this.transaction.updateAccount(this.account);
  }

  async openGrants(): Promise<Map<string, GrantRow>> {
    if (!this.open_grants) {
      const rows = await this.transaction.listOpenGrants(this.account.id);
      this.open_grants = new Map(rows.map((row) => [row.id, row]));
    }
    return this.open_grants;
  }

  async grant(grant_id: string): Promise<GrantRow> {
    const open = (await this.openGrants()).get(grant_id);
    if (open) return open;
    const closed = await this.transaction.getGrant(grant_id);
    assert(
      closed && closed.account_id === this.account.id,
      `grant ${grant_id} belongs to ${this.account.id}`,
    );
    return closed;
  }

  /**
   * Opens a new grant funded from a system book — `issued` for new credits, `consumed` for a
   * refund that gives spent credits back, `creator` for earnings paid out as credits — and
   * posts the journal transaction that funds it.
   */
  async issueGrant(
    grant: NewGrant,
    funding: { from: 'issued' | 'consumed' | 'creator'; type: JournalTransactionType; reference_id: string },
  ): Promise<GrantRow> {
    const row = await this.insertGrant(grant);
    await this.post(
      funding.type,
      funding.reference_id,
      move(funding.from, 'grant', row.amount_micros, { grant_id: row.id }),
    );
    // Debt (a refunded purchase's spent credits) is repaid from the next credits, first.
    if (this.account.debt_micros > 0n) {
      const repaid =
        row.amount_micros < this.account.debt_micros ? row.amount_micros : this.account.debt_micros;
      await this.moveFromGrant(row, repaid, 'debt', 'debt_repay', row.id);
      this.account.debt_micros -= repaid;
      this.account.updated_at_ms = this.now_ms;
      await this.transaction.updateAccount(this.account);
    }
    return row;
  }

  /**
   * A non-expiring grant of `kind`, usable for any operation, effective now: what refunds,
   * compensations and payouts as credits give.
   */
  issueStandingGrant(
    grant: Pick<NewGrant, 'kind' | 'amount_micros' | 'source' | 'reason'> &
      Partial<Pick<NewGrant, 'refund_of_charge_id' | 'metadata'>>,
    funding: { from: 'issued' | 'consumed' | 'creator'; type: JournalTransactionType; reference_id: string },
  ): Promise<GrantRow> {
    return this.issueGrant(
      {
        id: this.newGrantId(),
        priority: this.priorityOf(grant.kind),
        effective_at_ms: this.now_ms,
        expires_at_ms: null,
        allowed_operations: null,
        refund_of_charge_id: null,
        metadata: {},
        allowance_id: null,
        period_start_ms: null,
        requires_subscription: false,
        ...grant,
      },
      funding,
    );
  }

  /** Takes part of what an open grant has left into `book` (a purchase refund's clawback, a debt repaid). */
  async moveFromGrant(
    grant: GrantRow,
    amount_micros: bigint,
    book: 'revoked' | 'debt',
    type: JournalTransactionType,
    reference_id: string,
  ): Promise<void> {
    if (amount_micros === 0n) return;
    assert(
      grant.status === 'active' && grant.remaining_micros >= amount_micros,
      `grant ${grant.id} has ${amount_micros} left`,
    );
    await this.transaction.adjustGrantRemaining(this.account.id, grant.id, -amount_micros);
    grant.remaining_micros -= amount_micros;
    await this.post(type, reference_id, move('grant', book, amount_micros, { grant_id: grant.id }));
  }

  /**
   * Records spent credits of `grant_id` as owed: the `debt` book goes negative by them and
   * `revoked` takes them, as if they had been taken back.
   */
  async recordDebt(amount_micros: bigint, grant_id: string, reference_id: string): Promise<void> {
    if (amount_micros === 0n) return;
    await this.post('purchase_refund', reference_id, move('debt', 'revoked', amount_micros, { grant_id }));
    this.account.debt_micros += amount_micros;
    this.account.updated_at_ms = this.now_ms;
    await this.transaction.updateAccount(this.account);
  }

  /** Premium credits are usable only while the account has an active subscription. */
  usable(grant: GrantRow): boolean {
    return !grant.requires_subscription || this.hasActiveSubscription();
  }

  /** Open grants as draw-down sees them. Due work is booked, so `remaining` is exactly what is usable. */
  async drawableGrants(): Promise<DrawableGrant[]> {
    return [...(await this.openGrants()).values()]
      .filter((grant) => this.usable(grant))
      .map((grant) => ({
        id: grant.id,
        kind: grant.kind,
        priority: grant.priority,
        available_micros: grant.remaining_micros,
        effective_at_ms: grant.effective_at_ms,
        expires_at_ms: grant.expires_at_ms,
        created_at_ms: grant.created_at_ms,
        allowed_operations: grant.allowed_operations,
      }));
  }

  private async insertGrant(grant: NewGrant): Promise<GrantRow> {
    const open = await this.openGrants();
    if (open.size >= OPEN_GRANTS_PER_ACCOUNT_MAX) {
      throw new TallyError(
        'grant_limit_reached',
        `an account holds at most ${OPEN_GRANTS_PER_ACCOUNT_MAX} open grants`,
      );
    }
    const row: GrantRow = {
      ...grant,
      expiring_notified: false,
      account_id: this.account.id,
      remaining_micros: grant.amount_micros,
      status: 'active',
      created_at_ms: this.now_ms,
      closed_at_ms: null,
      closed_reason: null,
    };
    await this.transaction.insertGrant(row);
    open.set(row.id, row);
    return row;
  }

  /** Rollover: moves `amount` of what an ending grant has left into a new grant, in one journal transaction. */
  async carryOver(from: GrantRow, amount_micros: bigint, grant: NewGrant): Promise<GrantRow> {
    assert(
      from.status === 'active' && from.remaining_micros >= amount_micros,
      `grant ${from.id} can carry ${amount_micros}`,
    );
    const row = await this.insertGrant(grant);
    from.remaining_micros -= amount_micros;
    await this.transaction.updateGrant(from);
    await this.post('grant_rollover', row.id, [
      { book: 'grant', grant_id: from.id, reservation_id: null, amount_micros: -amount_micros },
      { book: 'grant', grant_id: row.id, reservation_id: null, amount_micros },
    ]);
    return row;
  }

  /** Appends one balanced journal transaction to the account's chain. Returns its id, or null when it moves nothing. */
  async post(
    type: JournalTransactionType,
    reference_id: string,
    entries: JournalEntry[],
  ): Promise<string | null> {
    if (entries.every((entry) => entry.amount_micros === 0n)) return null;
    const transaction = chainTransaction(this.account.ledger, {
      id: this.ids.next('jtx', this.now_ms),
      account_id: this.account.id,
      type,
      reference_id,
      created_at_ms: this.now_ms,
      entries,
    });
    await this.transaction.appendJournal(transaction);
    this.account.ledger = { sequence: transaction.sequence, hash: transaction.hash };
    // A hold made since opening is not in that list: limits measured after it read the store again.
    if (type === 'reserve') this.held_on_open = undefined;
    return transaction.id;
  }

  /** Moves credits out of open grants into a book (hold, consumed), updating each grant's remaining. */
  async takeFromGrants(
    allocations: readonly Allocation[],
    to: Book,
    reservation_id: string | null,
  ): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    for (const allocation of allocations) {
      const grant = await this.grant(allocation.grant_id);
      assert(grant.status === 'active', `grant ${grant.id} is open`);
      assert(
        grant.remaining_micros >= allocation.amount_micros,
        `grant ${grant.id} covers ${allocation.amount_micros}`,
      );
      // A conditional decrement: the database refuses to take a grant below zero, whatever this copy says.
      await this.transaction.adjustGrantRemaining(this.account.id, grant.id, -allocation.amount_micros);
      grant.remaining_micros -= allocation.amount_micros;
      entries.push(...move('grant', to, allocation.amount_micros, { grant_id: grant.id, reservation_id }));
    }
    return entries;
  }

  /**
   * Gives held credits back to the grants they came from. A grant closed in the meantime does
   * not take them back: they go to the book that closed it (expired or revoked).
   */
  async returnToGrants(allocations: readonly Allocation[], reservation_id: string): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    for (const allocation of allocations) {
      const grant = await this.grant(allocation.grant_id);
      const refs = { grant_id: grant.id, reservation_id };
      if (grant.status === 'active') {
        await this.transaction.adjustGrantRemaining(this.account.id, grant.id, allocation.amount_micros);
        grant.remaining_micros += allocation.amount_micros;
        entries.push(...move('hold', 'grant', allocation.amount_micros, refs));
      } else {
        entries.push(...move('hold', grant.status, allocation.amount_micros, refs));
      }
    }
    return entries;
  }

  /** Closes an open grant, moving what it has left to `expired` or `revoked`. */
  async closeGrant(
    grant: GrantRow,
    status: 'expired' | 'revoked',
    closed_at_ms: number,
    closed_reason: string | null = null,
  ): Promise<void> {
    assert(grant.status === 'active', `grant ${grant.id} is open`);
    const left = grant.remaining_micros;
    grant.remaining_micros = 0n;
    grant.status = status;
    grant.closed_at_ms = closed_at_ms;
    grant.closed_reason = closed_reason;
    await this.transaction.updateGrant(grant);
    this.open_grants?.delete(grant.id);
    if (status === 'expired' && left > 0n) {
      await this.emit('grant.expired', { grant_id: grant.id, kind: grant.kind, amount: formatCredits(left) });
    }
    await this.post(
      status === 'expired' ? 'grant_expire' : 'grant_revoke',
      grant.id,
      move('grant', status, left, { grant_id: grant.id }),
    );
  }

  /** Ends a held reservation without a charge (released, or expired past its TTL), returning its credits. */
  async endReservation(
    reservation: ReservationRow,
    status: 'released' | 'expired',
    resolved_at_ms: number,
  ): Promise<void> {
    assert(reservation.status === 'held', `reservation ${reservation.id} is held`);
    const entries = await this.returnToGrants(reservation.allocations, reservation.id);
    reservation.status = status;
    reservation.resolved_at_ms = resolved_at_ms;
    await this.transaction.updateReservation(reservation);
    await this.post(status === 'released' ? 'release' : 'reservation_expire', reservation.id, entries);
    if (status === 'expired') {
      await this.emit('reservation.expired', {
        reservation_id: reservation.id,
        operation: reservation.operation,
        amount: formatCredits(reservation.amount_micros),
        expired_at: new Date(resolved_at_ms).toISOString(),
      });
    }
  }

  /**
   * Books what fell due before `now_ms`: reservations past their TTL first (their credits go
   * back), then grants past their expiry (taking what came back with them). Reads never wait
   * for this; it keeps the rows equal to what reads already compute.
   */
  private async bookDue(lapsed_reservations: readonly ReservationRow[]): Promise<DueBooked> {
    let reservations_expired = 0;
    let grants_expired = 0;
    for (const reservation of lapsed_reservations) {
      await this.endReservation(reservation, 'expired', reservation.expires_at_ms);
      reservations_expired++;
    }
    // Scheduled work before expiry: a rollover takes from a grant that ends as its next period begins.
    if (this.account.schedule_due_at_ms !== null && this.account.schedule_due_at_ms <= this.now_ms) {
      await runSchedules(this, this.environment.config);
    }
    let grants_announced = 0;
    for (const grant of [...(await this.openGrants()).values()]) {
      if (grant.expires_at_ms === null) continue;
      if (grant.expires_at_ms <= this.now_ms) {
        await this.closeGrant(grant, 'expired', grant.expires_at_ms);
        grants_expired++;
      } else if (
        !grant.expiring_notified &&
        grant.remaining_micros > 0n &&
        grant.expires_at_ms <= this.now_ms + this.environment.config.expiring_soon_days * DAY_MS
      ) {
        grant.expiring_notified = true;
        await this.transaction.updateGrant(grant);
        await this.emit('grant.expiring_soon', {
          grant_id: grant.id,
          kind: grant.kind,
          amount: formatCredits(grant.remaining_micros),
          expires_at: new Date(grant.expires_at_ms).toISOString(),
        });
        grants_announced++;
      }
    }
    return { reservations_expired, grants_expired, grants_announced };
  }
}
