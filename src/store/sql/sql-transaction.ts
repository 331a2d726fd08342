/**
 * The store interface written once in SQL for every dialect (STYLE rule 9): each adapter only
 * supplies an executor and its dialect (sql/dialect.ts). Amounts travel as bigint both ways.
 */
import { assert } from '../../domain/assert.ts';
import type { JournalTransaction, JournalTransactionType } from '../../domain/journal.ts';
import type { Outcome } from '../../domain/pricing.ts';
import { spendBucketOf, spentByKind } from '../../domain/spending.ts';
import {
  decodeAllocations,
  decodeJournalLines,
  encodeAllocations,
  encodeJournalLines,
} from '../row-codec.ts';
import type {
  AccountLimitRow,
  AccountRow,
  AllowanceScheduleRow,
  ApiKeyRow,
  AuditRow,
  AutoRechargeRow,
  ChargeFilter,
  ChargePage,
  ChargeRow,
  CompensationRow,
  CreatorPayoutRow,
  EventRow,
  GrantRow,
  IdempotencyRow,
  IncidentRow,
  OpenedAccount,
  PriceVersionRow,
  ProviderEventRow,
  ProxyKeyRow,
  PurchaseRow,
  PurchaseStatus,
  RefundRow,
  ReservationRow,
  SpendBucketRow,
  StoredConfiguration,
  StoreTransaction,
  SubscriptionRow,
  TeamMemberRow,
  WebhookAttemptRow,
  WebhookDeliveryRow,
  WebhookEndpointRow,
} from '../store.ts';
import { type AccountMemory, type CommandGroup, copyOf, type RememberedAccount } from './account-memory.ts';
import {
  bind,
  type ChangeCheck,
  type Row,
  type SqlDialect,
  type SqlExecutor,
  type SqlParameters,
} from './dialect.ts';
import {
  autoRechargeFromRow,
  providerEventFromRow,
  purchaseFromRow,
  purchaseParameters,
} from './purchase-rows.ts';

const number = (value: unknown): number => Number(value as bigint);
const nullableNumber = (value: unknown): number | null => (value === null ? null : Number(value as bigint));
const bigint = (value: unknown): bigint => value as bigint;
const text = (value: unknown): string => value as string;
const nullableText = (value: unknown): string | null => value as string | null;
const json = <Value>(value: unknown): Value => JSON.parse(value as string) as Value;

function accountFromRow(row: Row): AccountRow {
  return {
    id: text(row.id),
    kind: text(row.kind) as AccountRow['kind'],
    timezone: text(row.timezone),
    status: text(row.status) as AccountRow['status'],
    metadata: json(row.metadata_json),
    low_balance_threshold_micros:
      row.low_balance_threshold_micros === null ? null : bigint(row.low_balance_threshold_micros),
    auto_recharge_below_micros:
      row.auto_recharge_below_micros === null ? null : bigint(row.auto_recharge_below_micros),
    debt_micros: bigint(row.debt_micros),
    balance_alert: text(row.balance_alert) as AccountRow['balance_alert'],
    schedule_due_at_ms: nullableNumber(row.schedule_due_at_ms),
    ledger: { sequence: number(row.ledger_sequence), hash: text(row.ledger_head_hash) },
    created_at_ms: number(row.created_at_ms),
    updated_at_ms: number(row.updated_at_ms),
  };
}

function grantFromRow(row: Row): GrantRow {
  return {
    account_id: text(row.account_id),
    id: text(row.id),
    kind: text(row.kind),
    priority: number(row.priority),
    amount_micros: bigint(row.amount_micros),
    remaining_micros: bigint(row.remaining_micros),
    effective_at_ms: number(row.effective_at_ms),
    expires_at_ms: nullableNumber(row.expires_at_ms),
    source: text(row.source) as GrantRow['source'],
    reason: nullableText(row.reason),
    status: text(row.status) as GrantRow['status'],
    allowed_operations: row.allowed_operations_json === null ? null : json(row.allowed_operations_json),
    refund_of_charge_id: nullableText(row.refund_of_charge_id),
    metadata: json(row.metadata_json),
    created_at_ms: number(row.created_at_ms),
    closed_at_ms: nullableNumber(row.closed_at_ms),
    closed_reason: nullableText(row.closed_reason),
    expiring_notified: number(row.expiring_notified) === 1,
    allowance_id: nullableText(row.allowance_id),
    period_start_ms: nullableNumber(row.period_start_ms),
    requires_subscription: number(row.requires_subscription) === 1,
  };
}

/** Named parameters of an account row, as SQLite stores them. */
function accountParameters(row: AccountRow) {
  return {
    id: row.id,
    kind: row.kind,
    timezone: row.timezone,
    status: row.status,
    metadata_json: JSON.stringify(row.metadata),
    low_balance_threshold_micros: row.low_balance_threshold_micros,
    auto_recharge_below_micros: row.auto_recharge_below_micros,
    debt_micros: row.debt_micros,
    balance_alert: row.balance_alert,
    schedule_due_at_ms: row.schedule_due_at_ms,
    ledger_sequence: row.ledger.sequence,
    ledger_head_hash: row.ledger.hash,
    created_at_ms: row.created_at_ms,
    updated_at_ms: row.updated_at_ms,
  };
}

/** Named parameters of a grant row, as SQLite stores them. */
function grantParameters(row: GrantRow) {
  const { allowed_operations, metadata, ...columns } = row;
  return {
    ...columns,
    allowed_operations_json: allowed_operations === null ? null : JSON.stringify(allowed_operations),
    metadata_json: JSON.stringify(metadata),
    expiring_notified: row.expiring_notified ? 1 : 0,
    requires_subscription: row.requires_subscription ? 1 : 0,
  };
}

function reservationFromRow(row: Row): ReservationRow {
  return {
    account_id: text(row.account_id),
    id: text(row.id),
    operation: text(row.operation),
    model: nullableText(row.model),
    add_ons: json(row.add_ons_json),
    member: nullableText(row.member),
    api_key_id: nullableText(row.api_key_id),
    status: text(row.status) as ReservationRow['status'],
    amount_micros: bigint(row.amount_micros),
    price_version: number(row.price_version),
    allocations: decodeAllocations(text(row.allocations_json)),
    usage: row.usage_json === null ? null : json(row.usage_json),
    metadata: json(row.metadata_json),
    expires_at_ms: number(row.expires_at_ms),
    created_at_ms: number(row.created_at_ms),
    resolved_at_ms: nullableNumber(row.resolved_at_ms),
    charge_id: nullableText(row.charge_id),
  };
}

/** A spend bucket's scope columns hold '' for none: a key of NULLs would never conflict. */
function spendBucketFromRow(row: Row): SpendBucketRow {
  const none = (value: unknown) => (value === '' ? null : text(value));
  return {
    account_id: text(row.account_id),
    start_ms: number(row.start_ms),
    operation: text(row.operation),
    member: none(row.member),
    project: none(row.project),
    api_key_id: none(row.api_key_id),
    kind: text(row.kind),
    spent_micros: bigint(row.spent_micros),
  };
}

/** Adds a charge's spend to its quarter hour's bucket of its scope and kind. */
const SPEND_BUCKET_ADD = `INSERT INTO spend_buckets (account_id, start_ms, operation, member, project, api_key_id, kind, spent_micros)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (account_id, start_ms, operation, member, project, api_key_id, kind)
  DO UPDATE SET spent_micros = spend_buckets.spent_micros + excluded.spent_micros`;

function chargeFromRow(row: Row): ChargeRow {
  return {
    account_id: text(row.account_id),
    id: text(row.id),
    reservation_id: nullableText(row.reservation_id),
    operation: text(row.operation),
    model: nullableText(row.model),
    add_ons: json(row.add_ons_json),
    member: nullableText(row.member),
    api_key_id: nullableText(row.api_key_id),
    usage: json(row.usage_json),
    credits_micros: bigint(row.credits_micros),
    uncollected_micros: bigint(row.uncollected_micros),
    allocations: decodeAllocations(text(row.allocations_json)),
    outcome: text(row.outcome) as Outcome,
    price_version: number(row.price_version),
    metadata: json(row.metadata_json),
    refunded_micros: bigint(row.refunded_micros),
    usage_source: nullableText(row.usage_source) as ChargeRow['usage_source'],
    creator:
      row.creator_account_id === null
        ? null
        : {
            account_id: text(row.creator_account_id),
            basis: text(row.creator_basis) as 'cost' | 'premium',
            share_micros: bigint(row.creator_micros),
            reversed_micros: bigint(row.creator_reversed_micros),
          },
    created_at_ms: number(row.created_at_ms),
  };
}

function teamMemberFromRow(row: Row): TeamMemberRow {
  return {
    account_id: text(row.account_id),
    member_id: text(row.member_id),
    role: text(row.role) as TeamMemberRow['role'],
    created_at_ms: number(row.created_at_ms),
    updated_at_ms: number(row.updated_at_ms),
  };
}

function creatorPayoutFromRow(row: Row): CreatorPayoutRow {
  return {
    account_id: text(row.account_id),
    id: text(row.id),
    amount_micros: bigint(row.amount_micros),
    currency: text(row.currency),
    amount_minor: bigint(row.amount_minor),
    paid_as: text(row.paid_as) as CreatorPayoutRow['paid_as'],
    grant_id: nullableText(row.grant_id),
    reference: nullableText(row.reference),
    earned_before_ms: number(row.earned_before_ms),
    created_at_ms: number(row.created_at_ms),
  };
}

function proxyKeyFromRow(row: Row): ProxyKeyRow {
  return {
    id: text(row.id),
    account_id: text(row.account_id),
    secret_hash: text(row.secret_hash),
    secret_prefix: text(row.secret_prefix),
    name: text(row.name),
    created_at_ms: number(row.created_at_ms),
    revoked_at_ms: nullableNumber(row.revoked_at_ms),
  };
}

function eventFromRow(row: Row): EventRow {
  return {
    account_id: text(row.account_id),
    id: text(row.id),
    type: text(row.type),
    data: json(row.data_json),
    created_at_ms: number(row.created_at_ms),
  };
}

function endpointFromRow(row: Row): WebhookEndpointRow {
  return {
    id: text(row.id),
    url: text(row.url),
    event_types: json(row.event_types_json),
    secret: text(row.secret),
    created_at_ms: number(row.created_at_ms),
    disabled_at_ms: nullableNumber(row.disabled_at_ms),
  };
}

function deliveryFromRow(row: Row): WebhookDeliveryRow {
  return {
    id: text(row.id),
    endpoint_id: text(row.endpoint_id),
    event_id: text(row.event_id),
    status: text(row.status) as WebhookDeliveryRow['status'],
    attempts: number(row.attempts),
    next_attempt_at_ms: number(row.next_attempt_at_ms),
    created_at_ms: number(row.created_at_ms),
    completed_at_ms: nullableNumber(row.completed_at_ms),
  };
}

function apiKeyFromRow(row: Row): ApiKeyRow {
  return {
    id: text(row.id),
    secret_hash: text(row.secret_hash),
    secret_prefix: text(row.secret_prefix),
    scope: text(row.scope) as ApiKeyRow['scope'],
    name: text(row.name),
    created_at_ms: number(row.created_at_ms),
    revoked_at_ms: nullableNumber(row.revoked_at_ms),
  };
}

function priceVersionFromRow(row: Row): PriceVersionRow {
  return {
    version: number(row.version),
    effective_at_ms: number(row.effective_at_ms),
    document_json: text(row.document_json),
    created_at_ms: number(row.created_at_ms),
  };
}

function subscriptionFromRow(row: Row): SubscriptionRow {
  return {
    account_id: text(row.account_id),
    plan_id: text(row.plan_id),
    status: text(row.status) as SubscriptionRow['status'],
    anchor_ms: number(row.anchor_ms),
    current_period_start_ms: number(row.current_period_start_ms),
    current_period_end_ms: number(row.current_period_end_ms),
    cancel_at_period_end: number(row.cancel_at_period_end) === 1,
    pending_plan_id: nullableText(row.pending_plan_id),
    overrides: json<SubscriptionRow['overrides']>(row.overrides_json),
    started_at_ms: number(row.started_at_ms),
    ended_at_ms: nullableNumber(row.ended_at_ms),
    updated_at_ms: number(row.updated_at_ms),
  };
}

function accountLimitFromRow(row: Row): AccountLimitRow {
  return {
    account_id: text(row.account_id),
    set_by: text(row.set_by) as AccountLimitRow['set_by'],
    id: text(row.id),
    window: text(row.limit_window) as AccountLimitRow['window'],
    max_micros: bigint(row.max_micros),
    kinds: row.kinds_json === null ? null : json<string[]>(row.kinds_json),
    operations: row.operations_json === null ? null : json<string[]>(row.operations_json),
    member: nullableText(row.member),
    project: nullableText(row.project),
    api_key: nullableText(row.api_key_id),
    updated_at_ms: number(row.updated_at_ms),
  };
}

/** The queries that open an account for a command; run one by one, or together by openAccountForUpdate. */
const SUBSCRIPTION_OF_ACCOUNT = 'SELECT * FROM subscriptions WHERE account_id = ?';
const LAPSED_RESERVATIONS =
  "SELECT * FROM reservations WHERE account_id = ? AND status = 'held' AND expires_at_ms <= ? ORDER BY created_at_ms, id";
const HELD_RESERVATIONS =
  "SELECT * FROM reservations WHERE account_id = ? AND status = 'held' ORDER BY created_at_ms, id";
/** Where accounts are remembered, every lock bumps the version, so other processes can tell their memory is old. */
const LOCK_AND_BUMP = 'UPDATE accounts SET version = version + 1 WHERE id = ? RETURNING *';
const PRICE_VERSION_IN_FORCE =
  'SELECT version FROM price_versions WHERE effective_at_ms <= ? ORDER BY version DESC LIMIT 1';
/** Locks and bumps the account only if it is as remembered, with the same price book version in force. */
const LOCK_IF_AS_REMEMBERED = `UPDATE accounts SET version = version + 1
  WHERE id = ? AND version = ? AND (${PRICE_VERSION_IN_FORCE}) IS NOT DISTINCT FROM ?`;
const BUMP = 'UPDATE accounts SET version = version + 1 WHERE id = ?';
const OPEN_GRANTS =
  "SELECT * FROM grants WHERE account_id = ? AND status = 'active' ORDER BY created_at_ms, id";
const ACCOUNT_LIMITS = 'SELECT * FROM account_limits WHERE account_id = ? ORDER BY id, set_by';
const RESERVATION_OF_ACCOUNT = 'SELECT * FROM reservations WHERE account_id = ? AND id = ?';

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The order account limits are read in (ORDER BY id, set_by). */
function byLimitKey(a: AccountLimitRow, b: AccountLimitRow): number {
  return byId(a, b) || (a.set_by < b.set_by ? -1 : a.set_by > b.set_by ? 1 : 0);
}

const sameRow = (a: { id: string }, b: { id: string }) => a.id === b.id;

/** The order grants and reservations are read in. */
function byCreation(
  a: { created_at_ms: number; id: string },
  b: { created_at_ms: number; id: string },
): number {
  return a.created_at_ms - b.created_at_ms || byId(a, b);
}

/**
 * A remembered list after a write of `row`: its old version out, a copy of it in while it still
 * belongs (`stays`), in the order the list is read in. Rows are replaced, never changed in place.
 */
function withRow<Written extends { id: string }>(
  rows: readonly Written[],
  row: Written,
  stays: boolean,
  order: (a: Written, b: Written) => number,
  same: (a: Written, b: Written) => boolean = sameRow,
): Written[] {
  const others = rows.filter((other) => !same(other, row));
  if (stays) others.push(copyOf(row));
  return others.sort(order);
}

/** Held reservations whose TTL ended at or before `now_ms`, in their order. */
function lapsedAt(held: readonly ReservationRow[], now_ms: number): ReservationRow[] {
  return held.filter((row) => row.expires_at_ms <= now_ms);
}

/**
 * A reservation's columns, in the order insertReservation gives their values. Positional, not an
 * object spread from the row: on the hot path, objects spread from others outlived the young
 * generation's collections, and promoting them cost E1 about a tenth (bench/README.md, issue 23).
 */
const RESERVATION_INSERT = `INSERT INTO reservations (account_id, id, operation, model, add_ons_json, member, api_key_id,
    status, amount_micros, price_version, allocations_json, usage_json, metadata_json, expires_at_ms, created_at_ms,
    resolved_at_ms, charge_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** A charge's columns, in the order insertCharge gives their values. */
const CHARGE_INSERT = `INSERT INTO charges (account_id, id, reservation_id, operation, model, add_ons_json, member,
    api_key_id, usage_json, credits_micros, uncollected_micros, allocations_json, outcome, price_version, metadata_json,
    refunded_micros, usage_source, creator_account_id, creator_basis, creator_micros, creator_reversed_micros,
    created_at_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Moves an account's journal head on, only from the head the transaction was chained to. */
const JOURNAL_HEAD_UPDATE =
  'UPDATE accounts SET ledger_sequence = ?, ledger_head_hash = ? WHERE id = ? AND ledger_sequence = ? AND ledger_head_hash = ?';

/** A journal transaction's columns, its lines included (see the migration that moved them into its row). */
const JOURNAL_TRANSACTION_COLUMNS =
  'account_id, sequence, id, type, reference_id, created_at_ms, previous_hash, hash, entries_json';

const JOURNAL_TRANSACTION_INSERT = `INSERT INTO journal_transactions (${JOURNAL_TRANSACTION_COLUMNS})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** journalInOneStatement's text by dialect: the same string each time is the key it is prepared under. */
const journal_in_one_statement = new Map<string, string>();

/**
 * Both in one statement, where the database allows writes inside WITH (PostgreSQL): the row is
 * written only if the head moved, so a stale head writes nothing, and `expect_changes` fails the
 * transaction on the count.
 */
function journalInOneStatement(expect_changes: string): string {
  const known = journal_in_one_statement.get(expect_changes);
  if (known) return known;
  const statement = `WITH head AS (
         ${JOURNAL_HEAD_UPDATE} RETURNING id
       ), posted AS (
         INSERT INTO journal_transactions (${JOURNAL_TRANSACTION_COLUMNS})
         SELECT ${JOURNAL_TRANSACTION_COLUMNS}
         FROM (VALUES (CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),
                       CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT)))
           AS row (${JOURNAL_TRANSACTION_COLUMNS})
         WHERE EXISTS (SELECT 1 FROM head)
         RETURNING 1
       )
       SELECT ${expect_changes}(count(*), 1, ?) FROM posted`;
  journal_in_one_statement.set(expect_changes, statement);
  return statement;
}

export class SqlTransaction implements StoreTransaction {
  /** Locks the account row until the transaction ends, serialising commands on one account. */
  private readonly account_for_update: string;
  /** With a memory: each account this transaction opened, as its writes leave it (remembered on commit). */
  private readonly opened_accounts = new Map<string, RememberedAccount>();
  /** With a memory: accounts written without being opened; their version was bumped and memory dropped. */
  private readonly bumped = new Set<string>();
  /** The turn this transaction holds on the first account it opened, released when it ends. */
  private release_turn: (() => void) | undefined;
  /** Whether the first account opened has been given its turn (a group's command holds none itself). */
  private took_turn = false;
  /**
   * Whether an account was opened from memory: until its check has run, anything the command
   * concluded from it — a refusal too — may rest on an old copy.
   */
  recalled = false;
  /** Settles `RememberedAccount.settled` of what this transaction left, once it has ended. */
  private settle: (() => void) | undefined;

  /**
   * `memory`, where given, lets a command skip reading an account this process left as it is;
   * `recall` false reads every account afresh but still keeps the memory current (a retry after
   * the memory proved old, so it cannot fail the same way again). `group`, where given, is the
   * group commit this command runs in.
   */
  constructor(
    private readonly executor: SqlExecutor,
    private readonly dialect: SqlDialect,
    private readonly memory?: AccountMemory,
    private readonly recall = true,
    private readonly group?: CommandGroup,
  ) {
    // A checked memory tells processes apart by the account's version; an owned one needs none.
    this.account_for_update =
      memory && !memory.owned ? LOCK_AND_BUMP : `SELECT * FROM accounts WHERE id = ?${dialect.lock_rows}`;
  }

  /**
   * Call as the COMMIT is sent: the accounts are remembered as this transaction leaves them and
   * the next command of the process may start on them at once. Its own check then waits, in the
   * database, for this commit — and fails, running again, if this one does not commit.
   */
  committing(): void {
    if (this.memory?.owned) {
      // Nothing waits on an owned memory's commits: the store's commands run one at a time.
      for (const [id, account] of this.opened_accounts) this.memory.remember(id, account);
    } else if (this.memory) {
      // In a group, what this command leaves is settled with the group's transaction.
      const settled =
        this.group?.settled ??
        new Promise<void>((resolve) => {
          this.settle = resolve;
        });
      for (const [id, account] of this.opened_accounts) this.memory.remember(id, { ...account, settled });
    }
    this.endTurn();
  }

  /** Call once the transaction has ended, either way: a failed one leaves nothing remembered. */
  finish(committed: boolean): void {
    this.settle?.();
    if (this.memory) {
      if (!committed) for (const id of this.opened_accounts.keys()) this.memory.forget(id);
      for (const id of this.bumped) this.memory.forget(id);
    }
    this.endTurn();
  }

  private endTurn(): void {
    this.release_turn?.();
    this.release_turn = undefined;
  }

  /** Positional parameters follow the SQL; a single object supplies @named ones. */
  private async query(sql: string, parameters: unknown[]): Promise<{ rows: Row[]; changes: number }> {
    const named =
      parameters.length === 1 &&
      parameters[0] !== null &&
      typeof parameters[0] === 'object' &&
      !Array.isArray(parameters[0]);
    const { text, values } = bind(
      this.dialect,
      sql,
      named ? (parameters[0] as Record<string, unknown>) : parameters,
    );
    return this.executor.query(text, values);
  }
  private async one(sql: string, ...parameters: unknown[]): Promise<Row | undefined> {
    return (await this.query(sql, parameters)).rows[0];
  }
  private async all(sql: string, ...parameters: unknown[]): Promise<Row[]> {
    return (await this.query(sql, parameters)).rows;
  }
  private async run(sql: string, ...parameters: unknown[]): Promise<number> {
    return (await this.query(sql, parameters)).changes;
  }
  /** A write the command need not wait for (SqlExecutor.defer); `check`, how many rows it must change. */
  private async write(sql: string, parameters: SqlParameters, check?: ChangeCheck): Promise<void> {
    const { text, values } = bind(this.dialect, sql, parameters);
    await this.executor.defer(text, values, check);
  }

  async getAccountForUpdate(id: string) {
    const row = await this.one(this.account_for_update, id);
    this.memory?.forget(id);
    this.opened_accounts.delete(id);
    return row && accountFromRow(row);
  }

  async openAccountForUpdate(id: string, now_ms: number, reservation_id?: string) {
    if (this.memory?.owned && !this.opened_accounts.has(id)) {
      // Owned: any account, no turns (the store runs commands one at a time), nothing to check
      // but the price book version in force, which moves with time rather than with the account.
      const remembered = this.memory.current(id);
      if (
        remembered &&
        (reservation_id === undefined ||
          remembered.held_reservations.some((row) => row.id === reservation_id)) &&
        (await this.priceVersionInForce(now_ms)) === remembered.opened.price_version_in_force
      ) {
        return this.openOwned(id, now_ms, reservation_id, remembered);
      }
    } else if (this.memory && !this.took_turn && !this.opened_accounts.has(id)) {
      // The first account of a transaction only: waiting for a turn on a second could deadlock in process.
      this.took_turn = true;
      if (this.group) this.memory.claim(id, this.group, this.group.turns_over);
      else this.release_turn = await this.memory.turn(id);
      const remembered = this.recall ? this.memory.recall(id) : undefined;
      if (
        remembered &&
        (reservation_id === undefined ||
          remembered.held_reservations.some((row) => row.id === reservation_id))
      ) {
        return this.openAsRemembered(id, now_ms, reservation_id, remembered);
      }
    }
    const [accounts, subscriptions, reservations_read, grants, limits, prices, reservation_rows] =
      await this.executor.batch([
        bind(this.dialect, this.account_for_update, [id]),
        bind(this.dialect, SUBSCRIPTION_OF_ACCOUNT, [id]),
        this.memory
          ? bind(this.dialect, HELD_RESERVATIONS, [id])
          : bind(this.dialect, LAPSED_RESERVATIONS, [id, now_ms]),
        bind(this.dialect, OPEN_GRANTS, [id]),
        bind(this.dialect, ACCOUNT_LIMITS, [id]),
        bind(this.dialect, PRICE_VERSION_IN_FORCE, [now_ms]),
        ...(reservation_id === undefined
          ? []
          : [bind(this.dialect, RESERVATION_OF_ACCOUNT, [id, reservation_id])]),
      ]);
    const account = accounts![0];
    if (!account) return undefined;
    const subscription = subscriptions![0];
    const opened = {
      account: accountFromRow(account),
      subscription: subscription && subscriptionFromRow(subscription),
      open_grants: grants!.map(grantFromRow),
      account_limits: limits!.map(accountLimitFromRow),
      price_version_in_force: prices![0] ? number(prices![0].version) : null,
    };
    const reservations = reservations_read!.map(reservationFromRow);
    if (this.memory) {
      this.opened_accounts.set(id, {
        version: number(account.version),
        opened: copyOf(opened),
        held_reservations: copyOf(reservations),
      });
    }
    const lapsed_reservations = this.memory ? lapsedAt(reservations, now_ms) : reservations;
    const reservation = reservation_rows?.[0];
    return {
      ...opened,
      ...(this.memory ? { held_reservations: reservations } : {}),
      lapsed_reservations,
      reservation:
        reservation &&
        (lapsed_reservations.find((row) => row.id === reservation_id) ?? reservationFromRow(reservation)),
    };
  }

  /**
   * Opens the account from memory: no round trip now. The lock, with the check that the memory is
   * current, leads the transaction's next trip; if it is not, the transaction fails before any of
   * its writes and runs again (the store retries), reading the account afresh.
   */
  private async openAsRemembered(
    id: string,
    now_ms: number,
    reservation_id: string | undefined,
    remembered: RememberedAccount,
  ): Promise<OpenedAccount> {
    await this.write(
      LOCK_IF_AS_REMEMBERED,
      [id, remembered.version, now_ms, remembered.opened.price_version_in_force],
      { changes: 1, failure: `account ${id} is at version ${remembered.version}`, stale: true },
    );
    this.recalled = true;
    // What an earlier command of this group left needs no waiting: it is in this very transaction.
    if (remembered.settled && remembered.settled !== this.group?.settled)
      this.executor.holdUntil?.(remembered.settled);
    remembered.version++;
    remembered.settled = undefined;
    return this.openOwned(id, now_ms, reservation_id, remembered);
  }

  private async priceVersionInForce(now_ms: number): Promise<number | null> {
    const row = await this.one(PRICE_VERSION_IN_FORCE, now_ms);
    return row ? number(row.version) : null;
  }

  /** Opens the account from memory, as it is: the working copy is the memory's, the session's rows copies of it. */
  private openOwned(
    id: string,
    now_ms: number,
    reservation_id: string | undefined,
    remembered: RememberedAccount,
  ): OpenedAccount {
    this.opened_accounts.set(id, remembered);
    // The session changes what it is given: hand it copies of the rows it gets.
    const lapsed_reservations = copyOf(lapsedAt(remembered.held_reservations, now_ms));
    const worked_on = remembered.held_reservations.find((row) => row.id === reservation_id);
    const opened = remembered.opened;
    // Field by field, not spread (see RESERVATION_INSERT).
    return {
      account: copyOf(opened.account),
      subscription: opened.subscription && copyOf(opened.subscription),
      open_grants: copyOf(opened.open_grants),
      account_limits: copyOf(opened.account_limits),
      price_version_in_force: opened.price_version_in_force,
      // Never changed in place (a change replaces the row): the memory's own list will do.
      held_reservations: remembered.held_reservations,
      lapsed_reservations,
      reservation:
        lapsed_reservations.find((row) => row.id === reservation_id) ?? (worked_on && copyOf(worked_on)),
    };
  }

  /**
   * The working copy of an account this transaction opened, for a write to keep it current. An
   * account written without being opened (tests, tools) has its version bumped instead, so every
   * process's memory of it is dropped.
   */
  private async workingCopy(account_id: string): Promise<RememberedAccount | undefined> {
    if (!this.memory) return undefined;
    const copy = this.opened_accounts.get(account_id);
    if (!copy && !this.bumped.has(account_id)) {
      this.bumped.add(account_id);
      this.memory.forget(account_id);
      // Other processes' owned memories start over on this commit anyway.
      if (!this.memory.owned) await this.write(BUMP, [account_id]);
    }
    return copy;
  }

  /** Keeps a working copy's open grants current with a grant written (inserted or updated). */
  private async rememberGrant(row: GrantRow): Promise<void> {
    const copy = await this.workingCopy(row.account_id);
    if (copy)
      copy.opened.open_grants = withRow(copy.opened.open_grants, row, row.status === 'active', byCreation);
  }

  /** Keeps a working copy's held reservations current with a reservation written. */
  private async rememberReservation(row: ReservationRow): Promise<void> {
    const copy = await this.workingCopy(row.account_id);
    if (copy)
      copy.held_reservations = withRow(copy.held_reservations, row, row.status === 'held', byCreation);
  }

  async getAccount(id: string) {
    const row = await this.one('SELECT * FROM accounts WHERE id = ?', id);
    return row && accountFromRow(row);
  }
  async insertAccount(row: AccountRow) {
    await this.write(
      `INSERT INTO accounts (id, kind, timezone, status, metadata_json, low_balance_threshold_micros,
         auto_recharge_below_micros, debt_micros, balance_alert, schedule_due_at_ms, ledger_sequence, ledger_head_hash,
         created_at_ms, updated_at_ms)
       VALUES (@id, @kind, @timezone, @status, @metadata_json, @low_balance_threshold_micros,
         @auto_recharge_below_micros, @debt_micros, @balance_alert, @schedule_due_at_ms, @ledger_sequence, @ledger_head_hash,
         @created_at_ms, @updated_at_ms)`,
      accountParameters(row),
    );
  }
  async updateAccount(row: AccountRow) {
    const copy = await this.workingCopy(row.id);
    if (copy) copy.opened.account = { ...copyOf(row), ledger: copy.opened.account.ledger };
    await this.write(
      `UPDATE accounts SET timezone = @timezone, status = @status, metadata_json = @metadata_json,
         low_balance_threshold_micros = @low_balance_threshold_micros,
         auto_recharge_below_micros = @auto_recharge_below_micros, debt_micros = @debt_micros,
         balance_alert = @balance_alert,
         schedule_due_at_ms = @schedule_due_at_ms, updated_at_ms = @updated_at_ms
       WHERE id = @id`,
      accountParameters(row),
      { changes: 1, failure: `account ${row.id} exists` },
    );
  }
  async listAccountIds(after: string | null, limit: number) {
    return (
      await this.all('SELECT id FROM accounts WHERE id > ? ORDER BY id LIMIT ?', after ?? '', limit)
    ).map((row) => text(row.id));
  }

  async searchAccounts(prefix: string, after: string | null, limit: number) {
    const pattern = `${prefix.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    return (
      await this.all(
        "SELECT * FROM accounts WHERE id LIKE ? ESCAPE '\\' AND id > ? ORDER BY id LIMIT ?",
        pattern,
        after ?? '',
        limit,
      )
    ).map(accountFromRow);
  }

  async getGrant(id: string) {
    const row = await this.one('SELECT * FROM grants WHERE id = ?', id);
    return row && grantFromRow(row);
  }
  async listOpenGrants(account_id: string) {
    return (await this.all(OPEN_GRANTS, account_id)).map(grantFromRow);
  }
  async listGrants(account_id: string) {
    return (
      await this.all('SELECT * FROM grants WHERE account_id = ? ORDER BY created_at_ms, id', account_id)
    ).map(grantFromRow);
  }
  async listGrantPage(
    account_id: string,
    page: {
      limit: number;
      after?: { created_at_ms: number; id: string } | undefined;
      state?: 'pending' | 'active' | 'expired' | 'revoked' | undefined;
      now_ms: number;
    },
  ) {
    const conditions = ['account_id = ?'];
    const parameters: unknown[] = [account_id];
    if (page.after) {
      conditions.push('(created_at_ms > ? OR (created_at_ms = ? AND id > ?))');
      parameters.push(page.after.created_at_ms, page.after.created_at_ms, page.after.id);
    }
    const now = page.now_ms;
    switch (page.state) {
      case 'pending':
        conditions.push("status = 'active' AND effective_at_ms > ?");
        parameters.push(now);
        break;
      case 'active':
        conditions.push(
          "status = 'active' AND effective_at_ms <= ? AND (expires_at_ms IS NULL OR expires_at_ms > ?)",
        );
        parameters.push(now, now);
        break;
      case 'expired':
        conditions.push("(status = 'expired' OR (status = 'active' AND expires_at_ms <= ?))");
        parameters.push(now);
        break;
      case 'revoked':
        conditions.push("status = 'revoked'");
        break;
    }
    parameters.push(page.limit);
    return (
      await this.all(
        `SELECT * FROM grants WHERE ${conditions.join(' AND ')} ORDER BY created_at_ms, id LIMIT ?`,
        ...parameters,
      )
    ).map(grantFromRow);
  }
  async insertGrant(row: GrantRow) {
    await this.rememberGrant(row);
    await this.write(
      `INSERT INTO grants (account_id, id, kind, priority, amount_micros, remaining_micros, effective_at_ms, expires_at_ms,
         source, reason, status, allowed_operations_json, refund_of_charge_id, metadata_json, created_at_ms, closed_at_ms,
         closed_reason, expiring_notified, allowance_id, period_start_ms, requires_subscription)
       VALUES (@account_id, @id, @kind, @priority, @amount_micros, @remaining_micros, @effective_at_ms, @expires_at_ms,
         @source, @reason, @status, @allowed_operations_json, @refund_of_charge_id, @metadata_json, @created_at_ms, @closed_at_ms,
         @closed_reason, @expiring_notified, @allowance_id, @period_start_ms, @requires_subscription)`,
      grantParameters(row),
    );
  }
  async adjustGrantRemaining(account_id: string, id: string, delta_micros: bigint) {
    const copy = await this.workingCopy(account_id);
    const grant = copy?.opened.open_grants.find((open) => open.id === id);
    if (grant) grant.remaining_micros += delta_micros;
    await this.write(
      `UPDATE grants SET remaining_micros = remaining_micros + ?
       WHERE account_id = ? AND id = ? AND status = 'active'
         AND remaining_micros + ? >= 0 AND remaining_micros + ? <= amount_micros`,
      [delta_micros, account_id, id, delta_micros, delta_micros],
      { changes: 1, failure: `grant ${id} is open and takes ${delta_micros}` },
    );
  }
  async updateGrant(row: GrantRow) {
    await this.rememberGrant(row);
    await this.write(
      `UPDATE grants SET remaining_micros = @remaining_micros, status = @status, closed_at_ms = @closed_at_ms,
         closed_reason = @closed_reason, expiring_notified = @expiring_notified
       WHERE account_id = @account_id AND id = @id`,
      grantParameters(row),
      { changes: 1, failure: `grant ${row.id} exists` },
    );
  }

  async getReservation(id: string) {
    const row = await this.one('SELECT * FROM reservations WHERE id = ?', id);
    return row && reservationFromRow(row);
  }
  async listHeldReservations(account_id: string) {
    return (
      await this.all(
        "SELECT * FROM reservations WHERE account_id = ? AND status = 'held' ORDER BY created_at_ms, id",
        account_id,
      )
    ).map(reservationFromRow);
  }
  async listReservations(account_id: string) {
    return (
      await this.all('SELECT * FROM reservations WHERE account_id = ? ORDER BY created_at_ms, id', account_id)
    ).map(reservationFromRow);
  }
  async listReservationPage(
    account_id: string,
    page: { limit: number; before?: { created_at_ms: number; id: string } | undefined },
  ) {
    const { before, limit } = page;
    const rows = before
      ? await this.all(
          `SELECT * FROM reservations WHERE account_id = ? AND (created_at_ms < ? OR (created_at_ms = ? AND id < ?))
           ORDER BY created_at_ms DESC, id DESC LIMIT ?`,
          account_id,
          before.created_at_ms,
          before.created_at_ms,
          before.id,
          limit,
        )
      : await this.all(
          'SELECT * FROM reservations WHERE account_id = ? ORDER BY created_at_ms DESC, id DESC LIMIT ?',
          account_id,
          limit,
        );
    return rows.map(reservationFromRow);
  }
  async insertReservation(row: ReservationRow) {
    await this.rememberReservation(row);
    await this.write(RESERVATION_INSERT, [
      row.account_id,
      row.id,
      row.operation,
      row.model,
      JSON.stringify(row.add_ons),
      row.member,
      row.api_key_id,
      row.status,
      row.amount_micros,
      row.price_version,
      encodeAllocations(row.allocations),
      row.usage === null ? null : JSON.stringify(row.usage),
      JSON.stringify(row.metadata),
      row.expires_at_ms,
      row.created_at_ms,
      row.resolved_at_ms,
      row.charge_id,
    ]);
  }
  async updateReservation(row: ReservationRow) {
    await this.rememberReservation(row);
    await this.write(
      'UPDATE reservations SET status = ?, resolved_at_ms = ?, charge_id = ? WHERE account_id = ? AND id = ?',
      [row.status, row.resolved_at_ms, row.charge_id, row.account_id, row.id],
      { changes: 1, failure: `reservation ${row.id} exists` },
    );
  }

  async getCharge(id: string) {
    const row = await this.one('SELECT * FROM charges WHERE id = ?', id);
    return row && chargeFromRow(row);
  }
  async insertCharge(row: ChargeRow) {
    await this.write(CHARGE_INSERT, [
      row.account_id,
      row.id,
      row.reservation_id,
      row.operation,
      row.model,
      JSON.stringify(row.add_ons),
      row.member,
      row.api_key_id,
      JSON.stringify(row.usage),
      row.credits_micros,
      row.uncollected_micros,
      encodeAllocations(row.allocations),
      row.outcome,
      row.price_version,
      JSON.stringify(row.metadata),
      row.refunded_micros,
      row.usage_source,
      row.creator?.account_id ?? null,
      row.creator?.basis ?? null,
      row.creator?.share_micros ?? 0n,
      row.creator?.reversed_micros ?? 0n,
      row.created_at_ms,
    ]);
    await this.addToSpendBuckets(row);
  }
  /** The charge's spend by kind, added to its bucket in this transaction: limits read these, not the charges. */
  private async addToSpendBuckets(row: ChargeRow): Promise<void> {
    const start_ms = spendBucketOf(row.created_at_ms);
    for (const [kind, spent_micros] of spentByKind(row.allocations)) {
      await this.write(SPEND_BUCKET_ADD, [
        row.account_id,
        start_ms,
        row.operation,
        row.member ?? '',
        row.metadata.project ?? '',
        row.api_key_id ?? '',
        kind,
        spent_micros,
      ]);
    }
  }
  async listSpendBuckets(account_id: string, from_ms: number) {
    return (
      await this.all(
        'SELECT * FROM spend_buckets WHERE account_id = ? AND start_ms >= ? ORDER BY start_ms',
        account_id,
        from_ms,
      )
    ).map(spendBucketFromRow);
  }
  async sumSpendBuckets(account_id: string, from_ms: number) {
    return (
      await this.all(
        `SELECT account_id, operation, member, project, api_key_id, kind, CAST(sum(spent_micros) AS BIGINT) AS spent_micros
         FROM spend_buckets WHERE account_id = ? AND start_ms >= ?
         GROUP BY account_id, operation, member, project, api_key_id, kind`,
        account_id,
        from_ms,
      )
    ).map((row) => {
      const { start_ms: _start, ...summed } = spendBucketFromRow({ ...row, start_ms: from_ms });
      return summed;
    });
  }
  async updateCharge(row: ChargeRow) {
    await this.write(
      `UPDATE charges SET refunded_micros = ?, creator_reversed_micros = ?
       WHERE account_id = ? AND id = ? AND ? <= credits_micros AND ? <= creator_micros`,
      [
        row.refunded_micros,
        row.creator?.reversed_micros ?? 0n,
        row.account_id,
        row.id,
        row.refunded_micros,
        row.creator?.reversed_micros ?? 0n,
      ],
      {
        changes: 1,
        failure: `charge ${row.id} exists and its refunds stay within it and its creator's share`,
      },
    );
  }
  async insertRefund(row: RefundRow) {
    await this.write(
      'INSERT INTO refunds (account_id, id, charge_id, grant_id, amount_micros, reason, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [row.account_id, row.id, row.charge_id, row.grant_id, row.amount_micros, row.reason, row.created_at_ms],
    );
  }

  async listCharges(filter: ChargeFilter, page: ChargePage) {
    const conditions = ['account_id = ?'];
    const parameters: unknown[] = [filter.account_id];
    const equal = (column: string, value: unknown) => {
      if (value === undefined) return;
      conditions.push(`${column} = ?`);
      parameters.push(value);
    };
    equal('operation', filter.operation);
    equal('model', filter.model);
    equal('member', filter.member);
    equal('outcome', filter.outcome);
    equal(this.dialect.jsonText('metadata_json', 'thread'), filter.thread);
    equal(this.dialect.jsonText('metadata_json', 'project'), filter.project);
    equal(this.dialect.jsonText('metadata_json', 'app'), filter.app);
    if (filter.from_ms !== undefined) {
      conditions.push('created_at_ms >= ?');
      parameters.push(filter.from_ms);
    }
    if (filter.to_ms !== undefined) {
      conditions.push('created_at_ms < ?');
      parameters.push(filter.to_ms);
    }
    if (page.after) {
      conditions.push('(created_at_ms, id) < (?, ?)');
      parameters.push(page.after.created_at_ms, page.after.id);
    }
    return (
      await this.all(
        `SELECT * FROM charges WHERE ${conditions.join(' AND ')} ORDER BY created_at_ms DESC, id DESC LIMIT ?`,
        ...parameters,
        page.limit,
      )
    ).map(chargeFromRow);
  }

  async listRecentCharges(account_id: string, since_ms: number, limit: number) {
    return (
      await this.all(
        'SELECT * FROM charges WHERE account_id = ? AND created_at_ms >= ? ORDER BY created_at_ms DESC, id DESC LIMIT ?',
        account_id,
        since_ms,
        limit,
      )
    ).map(chargeFromRow);
  }

  async appendJournal(transaction: JournalTransaction) {
    const copy = await this.workingCopy(transaction.account_id);
    if (copy) copy.opened.account.ledger = { sequence: transaction.sequence, hash: transaction.hash };
    const head = [
      transaction.sequence,
      transaction.hash,
      transaction.account_id,
      transaction.sequence - 1,
      transaction.previous_hash,
    ];
    const posted = [
      transaction.account_id,
      transaction.sequence,
      transaction.id,
      transaction.type,
      transaction.reference_id,
      transaction.created_at_ms,
      transaction.previous_hash,
      transaction.hash,
      encodeJournalLines(transaction.entries),
    ];
    const failure = `journal head of ${transaction.account_id} is at ${transaction.sequence - 1}`;
    if (this.dialect.writes_in_with && this.dialect.expect_changes) {
      await this.write(journalInOneStatement(this.dialect.expect_changes), [...head, ...posted, failure]);
      return;
    }
    await this.write(JOURNAL_HEAD_UPDATE, head, { changes: 1, failure });
    await this.write(JOURNAL_TRANSACTION_INSERT, posted);
  }

  async listJournal(account_id: string, page: { after_sequence: number; limit: number }) {
    const rows = await this.all(
      'SELECT * FROM journal_transactions WHERE account_id = ? AND sequence > ? ORDER BY sequence LIMIT ?',
      account_id,
      page.after_sequence,
      page.limit,
    );
    return rows.map(
      (row): JournalTransaction => ({
        id: text(row.id),
        account_id: text(row.account_id),
        sequence: number(row.sequence),
        type: text(row.type) as JournalTransactionType,
        reference_id: text(row.reference_id),
        created_at_ms: number(row.created_at_ms),
        // Lines edited into something unreadable read as none: the hash no longer matches, and
        // verify reports the transaction altered.
        entries: decodeJournalLines(text(row.entries_json)) ?? [],
        previous_hash: text(row.previous_hash),
        hash: text(row.hash),
      }),
    );
  }

  async getIdempotency(scope: string, key: string) {
    const row = await this.one('SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?', scope, key);
    if (!row) return undefined;
    return {
      scope: text(row.scope),
      key: text(row.key),
      request_hash: text(row.request_hash),
      response_json: text(row.response_json),
      created_at_ms: number(row.created_at_ms),
    };
  }
  async insertIdempotency(row: IdempotencyRow) {
    await this.write(
      `INSERT INTO idempotency_keys (scope, key, request_hash, response_json, created_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, key) DO NOTHING`,
      [row.scope, row.key, row.request_hash, row.response_json, row.created_at_ms],
      { changes: 1, failure: `${row.scope} ${row.key}`, taken: true },
    );
  }

  async getPriceVersion(version: number) {
    const row = await this.one('SELECT * FROM price_versions WHERE version = ?', version);
    return row && priceVersionFromRow(row);
  }
  async listPriceVersions(page: { after_version: number; limit: number }) {
    return (
      await this.all(
        'SELECT * FROM price_versions WHERE version > ? ORDER BY version LIMIT ?',
        page.after_version,
        page.limit,
      )
    ).map(priceVersionFromRow);
  }
  async getPriceVersionInForce(now_ms: number) {
    const row = await this.one(
      'SELECT * FROM price_versions WHERE effective_at_ms <= ? ORDER BY version DESC LIMIT 1',
      now_ms,
    );
    return row && priceVersionFromRow(row);
  }
  async getLatestPriceVersion() {
    const row = await this.one('SELECT * FROM price_versions ORDER BY version DESC LIMIT 1');
    return row && priceVersionFromRow(row);
  }
  async insertPriceVersion(row: PriceVersionRow) {
    await this.write(
      'INSERT INTO price_versions (version, effective_at_ms, document_json, created_at_ms) VALUES (?, ?, ?, ?)',
      [row.version, row.effective_at_ms, row.document_json, row.created_at_ms],
    );
  }

  async insertApiKey(row: ApiKeyRow) {
    await this.write(
      'INSERT INTO api_keys (id, secret_hash, secret_prefix, scope, name, created_at_ms, revoked_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [row.id, row.secret_hash, row.secret_prefix, row.scope, row.name, row.created_at_ms, row.revoked_at_ms],
    );
  }
  async getApiKeyByHash(secret_hash: string) {
    const row = await this.one('SELECT * FROM api_keys WHERE secret_hash = ?', secret_hash);
    return row && apiKeyFromRow(row);
  }
  async listApiKeys(page: { after?: string | undefined; limit: number }) {
    // Key ids begin with their creation time (ids.ts), so id order is creation order.
    const rows =
      page.after === undefined
        ? await this.all('SELECT * FROM api_keys ORDER BY id LIMIT ?', page.limit)
        : await this.all('SELECT * FROM api_keys WHERE id > ? ORDER BY id LIMIT ?', page.after, page.limit);
    return rows.map(apiKeyFromRow);
  }
  async revokeApiKey(id: string, revoked_at_ms: number) {
    const changed = await this.run(
      'UPDATE api_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL',
      revoked_at_ms,
      id,
    );
    if (changed === 1) return 'revoked' as const;
    return (await this.one('SELECT id FROM api_keys WHERE id = ?', id))
      ? ('already_revoked' as const)
      : ('not_found' as const);
  }

  async insertProxyKey(row: ProxyKeyRow) {
    await this.write(
      'INSERT INTO proxy_keys (id, account_id, secret_hash, secret_prefix, name, created_at_ms, revoked_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        row.id,
        row.account_id,
        row.secret_hash,
        row.secret_prefix,
        row.name,
        row.created_at_ms,
        row.revoked_at_ms,
      ],
    );
  }
  async getProxyKeyByHash(secret_hash: string) {
    const row = await this.one('SELECT * FROM proxy_keys WHERE secret_hash = ?', secret_hash);
    return row && proxyKeyFromRow(row);
  }
  async getProxyKey(id: string) {
    const row = await this.one('SELECT * FROM proxy_keys WHERE id = ?', id);
    return row && proxyKeyFromRow(row);
  }
  async listProxyKeys(account_id: string, page: { after?: string | undefined; limit: number }) {
    const rows =
      page.after === undefined
        ? await this.all(
            'SELECT * FROM proxy_keys WHERE account_id = ? ORDER BY id LIMIT ?',
            account_id,
            page.limit,
          )
        : await this.all(
            'SELECT * FROM proxy_keys WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?',
            account_id,
            page.after,
            page.limit,
          );
    return rows.map(proxyKeyFromRow);
  }
  async revokeProxyKey(id: string, revoked_at_ms: number) {
    const changed = await this.run(
      'UPDATE proxy_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL',
      revoked_at_ms,
      id,
    );
    if (changed === 1) return 'revoked' as const;
    return (await this.one('SELECT id FROM proxy_keys WHERE id = ?', id))
      ? ('already_revoked' as const)
      : ('not_found' as const);
  }

  async revokeCustomerTokens(scope: 'account' | 'key', subject: string, revoked_at_ms: number) {
    await this.run(
      `INSERT INTO customer_token_revocations (scope, subject, revoked_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (scope, subject) DO UPDATE SET revoked_at_ms = excluded.revoked_at_ms
       WHERE excluded.revoked_at_ms > customer_token_revocations.revoked_at_ms`,
      scope,
      subject,
      revoked_at_ms,
    );
  }
  async customerTokenRevocations(account: string, key_id: string | null) {
    const rows = await this.all(
      `SELECT scope, revoked_at_ms FROM customer_token_revocations
       WHERE (scope = 'account' AND subject = ?) OR (scope = 'key' AND subject = ?)`,
      account,
      key_id ?? '',
    );
    const at = (scope: string) => {
      const row = rows.find((candidate) => candidate.scope === scope);
      return row ? number(row.revoked_at_ms) : null;
    };
    return { account_ms: at('account'), key_ms: at('key') };
  }

  async getStoredConfiguration() {
    const row = await this.one("SELECT * FROM stored_configuration WHERE name = 'current'");
    if (!row) return undefined;
    return {
      document: JSON.parse(text(row.document_json)) as unknown,
      source: nullableText(row.source),
      stored_at_ms: number(row.stored_at_ms),
    };
  }
  async putStoredConfiguration(configuration: StoredConfiguration) {
    await this.write(
      `INSERT INTO stored_configuration (name, document_json, source, stored_at_ms) VALUES ('current', ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET document_json = excluded.document_json, source = excluded.source,
         stored_at_ms = excluded.stored_at_ms`,
      [JSON.stringify(configuration.document), configuration.source, configuration.stored_at_ms],
    );
  }

  async getServerSecret(name: string) {
    const row = await this.one('SELECT value FROM server_secrets WHERE name = ?', name);
    return row && text(row.value);
  }
  async putServerSecretOnce(name: string, value: string, created_at_ms: number) {
    await this.run(
      'INSERT INTO server_secrets (name, value, created_at_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      name,
      value,
      created_at_ms,
    );
    return (await this.getServerSecret(name))!;
  }

  async listAccountsWithDueWork(now_ms: number, expiring_before_ms: number, limit: number) {
    return (
      await this.all(
        `SELECT account_id FROM reservations WHERE status = 'held' AND expires_at_ms <= ?
       UNION
       SELECT account_id FROM grants WHERE status = 'active' AND expires_at_ms IS NOT NULL AND expires_at_ms <= ?
       UNION
       SELECT account_id FROM grants WHERE status = 'active' AND expiring_notified = 0 AND expires_at_ms IS NOT NULL
         AND expires_at_ms <= ? AND remaining_micros > 0
       UNION
       SELECT id FROM accounts WHERE schedule_due_at_ms IS NOT NULL AND schedule_due_at_ms <= ?
       ORDER BY account_id LIMIT ?`,
        now_ms,
        now_ms,
        expiring_before_ms,
        now_ms,
        limit,
      )
    ).map((row) => text(row.account_id));
  }

  async listAllowanceSchedules(account_id: string) {
    return (
      await this.all(
        'SELECT * FROM allowance_schedules WHERE account_id = ? ORDER BY allowance_id',
        account_id,
      )
    ).map((row) => ({
      account_id: text(row.account_id),
      allowance_id: text(row.allowance_id),
      plan_id: nullableText(row.plan_id),
      anchor_ms: number(row.anchor_ms),
      next_period_start_ms: number(row.next_period_start_ms),
    }));
  }
  async putAllowanceSchedule(row: AllowanceScheduleRow) {
    await this.write(
      `INSERT INTO allowance_schedules (account_id, allowance_id, plan_id, anchor_ms, next_period_start_ms)
       VALUES (@account_id, @allowance_id, @plan_id, @anchor_ms, @next_period_start_ms)
       ON CONFLICT (account_id, allowance_id) DO UPDATE SET plan_id = excluded.plan_id, anchor_ms = excluded.anchor_ms,
         next_period_start_ms = excluded.next_period_start_ms`,
      { ...row },
    );
  }
  async deleteAllowanceSchedule(account_id: string, allowance_id: string) {
    await this.write('DELETE FROM allowance_schedules WHERE account_id = ? AND allowance_id = ?', [
      account_id,
      allowance_id,
    ]);
  }
  async getAllowanceGrant(account_id: string, allowance_id: string, period_start_ms: number) {
    const row = await this.one(
      'SELECT * FROM grants WHERE account_id = ? AND allowance_id = ? AND period_start_ms = ?',
      account_id,
      allowance_id,
      period_start_ms,
    );
    return row && grantFromRow(row);
  }

  async getSubscription(account_id: string) {
    const row = await this.one(SUBSCRIPTION_OF_ACCOUNT, account_id);
    return row && subscriptionFromRow(row);
  }
  async putSubscription(row: SubscriptionRow) {
    const copy = await this.workingCopy(row.account_id);
    if (copy) copy.opened.subscription = copyOf(row);
    const { overrides, ...columns } = row;
    await this.write(
      `INSERT INTO subscriptions (account_id, plan_id, status, anchor_ms, current_period_start_ms, current_period_end_ms,
         cancel_at_period_end, pending_plan_id, overrides_json, started_at_ms, ended_at_ms, updated_at_ms)
       VALUES (@account_id, @plan_id, @status, @anchor_ms, @current_period_start_ms, @current_period_end_ms,
         @cancel_at_period_end, @pending_plan_id, @overrides_json, @started_at_ms, @ended_at_ms, @updated_at_ms)
       ON CONFLICT (account_id) DO UPDATE SET plan_id = excluded.plan_id, status = excluded.status,
         anchor_ms = excluded.anchor_ms, current_period_start_ms = excluded.current_period_start_ms,
         current_period_end_ms = excluded.current_period_end_ms, cancel_at_period_end = excluded.cancel_at_period_end,
         pending_plan_id = excluded.pending_plan_id, overrides_json = excluded.overrides_json,
         started_at_ms = excluded.started_at_ms, ended_at_ms = excluded.ended_at_ms, updated_at_ms = excluded.updated_at_ms`,
      {
        ...columns,
        cancel_at_period_end: row.cancel_at_period_end ? 1 : 0,
        overrides_json: JSON.stringify(overrides),
      },
    );
  }

  async listAccountLimits(account_id: string) {
    return (await this.all(ACCOUNT_LIMITS, account_id)).map(accountLimitFromRow);
  }

  async deleteAccountLimit(row: AccountLimitRow) {
    const copy = await this.workingCopy(row.account_id);
    if (copy)
      copy.opened.account_limits = withRow(
        copy.opened.account_limits,
        row,
        false,
        byLimitKey,
        (a, b) => a.id === b.id && a.set_by === b.set_by,
      );
    await this.write('DELETE FROM account_limits WHERE account_id = ? AND set_by = ? AND id = ?', [
      row.account_id,
      row.set_by,
      row.id,
    ]);
  }
  async putAccountLimit(row: AccountLimitRow) {
    const copy = await this.workingCopy(row.account_id);
    if (copy)
      copy.opened.account_limits = withRow(
        copy.opened.account_limits,
        row,
        true,
        byLimitKey,
        (a, b) => a.id === b.id && a.set_by === b.set_by,
      );
    const { kinds, operations, api_key, window, ...columns } = row;
    await this.write(
      `INSERT INTO account_limits (account_id, set_by, id, limit_window, max_micros, kinds_json, operations_json, member, project, api_key_id, updated_at_ms)
       VALUES (@account_id, @set_by, @id, @limit_window, @max_micros, @kinds_json, @operations_json, @member, @project, @api_key_id, @updated_at_ms)
       ON CONFLICT (account_id, set_by, id) DO UPDATE SET limit_window = excluded.limit_window, max_micros = excluded.max_micros,
         kinds_json = excluded.kinds_json, operations_json = excluded.operations_json, member = excluded.member,
         project = excluded.project, api_key_id = excluded.api_key_id, updated_at_ms = excluded.updated_at_ms`,
      {
        ...columns,
        limit_window: window,
        api_key_id: api_key,
        kinds_json: kinds === null ? null : JSON.stringify(kinds),
        operations_json: operations === null ? null : JSON.stringify(operations),
      },
    );
  }
  async getLimitReachedWindow(account_id: string, limit_id: string) {
    const row = await this.one(
      'SELECT reached_window_start_ms FROM limit_states WHERE account_id = ? AND limit_id = ?',
      account_id,
      limit_id,
    );
    return row === undefined ? undefined : number(row.reached_window_start_ms);
  }
  async putLimitReachedWindow(account_id: string, limit_id: string, window_start_ms: number) {
    await this.write(
      `INSERT INTO limit_states (account_id, limit_id, reached_window_start_ms) VALUES (?, ?, ?)
       ON CONFLICT (account_id, limit_id) DO UPDATE SET reached_window_start_ms = excluded.reached_window_start_ms`,
      [account_id, limit_id, window_start_ms],
    );
  }

  async insertAudit(row: AuditRow) {
    await this.write(
      'INSERT INTO audit_log (id, actor, action, account_id, details_json, at_ms) VALUES (?, ?, ?, ?, ?, ?)',
      [row.id, row.actor, row.action, row.account_id, JSON.stringify(row.details), row.at_ms],
    );
  }
  async listAudit(filter: { account_id?: string; before?: string }, limit: number) {
    return (
      await this.all(
        `SELECT * FROM audit_log WHERE (CAST(? AS TEXT) IS NULL OR account_id = ?) AND (CAST(? AS TEXT) IS NULL OR id < ?)
         ORDER BY id DESC LIMIT ?`,
        filter.account_id ?? null,
        filter.account_id ?? null,
        filter.before ?? null,
        filter.before ?? null,
        limit,
      )
    ).map((row) => ({
      id: text(row.id),
      actor: text(row.actor),
      action: text(row.action),
      account_id: nullableText(row.account_id),
      details: json<Record<string, unknown>>(row.details_json),
      at_ms: number(row.at_ms),
    }));
  }

  async insertEvent(row: EventRow) {
    await this.write(
      'INSERT INTO events (account_id, id, type, data_json, created_at_ms) VALUES (?, ?, ?, ?, ?)',
      [row.account_id, row.id, row.type, JSON.stringify(row.data), row.created_at_ms],
    );
  }
  async listEvents(filter: { account_id?: string; type?: string; after?: string }, limit: number) {
    return (
      await this.all(
        `SELECT * FROM events WHERE (CAST(? AS TEXT) IS NULL OR account_id = ?) AND (CAST(? AS TEXT) IS NULL OR type = ?) AND id > ?
       ORDER BY id LIMIT ?`,
        filter.account_id ?? null,
        filter.account_id ?? null,
        filter.type ?? null,
        filter.type ?? null,
        filter.after ?? '',
        limit,
      )
    ).map(eventFromRow);
  }
  async getEvent(id: string) {
    const row = await this.one('SELECT * FROM events WHERE id = ?', id);
    return row && eventFromRow(row);
  }
  async listUndispatchedEvents(limit: number) {
    return (await this.all('SELECT * FROM events WHERE dispatched = 0 ORDER BY id LIMIT ?', limit)).map(
      eventFromRow,
    );
  }
  async markEventsDispatched(ids: readonly string[]) {
    for (const id of ids) await this.write('UPDATE events SET dispatched = 1 WHERE id = ?', [id]);
  }

  async insertWebhookEndpoint(row: WebhookEndpointRow) {
    await this.write(
      'INSERT INTO webhook_endpoints (id, url, event_types_json, secret, created_at_ms, disabled_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
      [row.id, row.url, JSON.stringify(row.event_types), row.secret, row.created_at_ms, row.disabled_at_ms],
    );
  }
  async listWebhookEndpoints() {
    return (await this.all('SELECT * FROM webhook_endpoints ORDER BY created_at_ms, id')).map(
      endpointFromRow,
    );
  }
  async getWebhookEndpoint(id: string) {
    const row = await this.one('SELECT * FROM webhook_endpoints WHERE id = ?', id);
    return row && endpointFromRow(row);
  }
  async insertWebhookDelivery(row: WebhookDeliveryRow) {
    await this.write(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, attempts, next_attempt_at_ms, created_at_ms, completed_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        row.id,
        row.endpoint_id,
        row.event_id,
        row.status,
        row.attempts,
        row.next_attempt_at_ms,
        row.created_at_ms,
        row.completed_at_ms,
      ],
    );
  }
  async getWebhookDelivery(id: string) {
    const row = await this.one('SELECT * FROM webhook_deliveries WHERE id = ?', id);
    return row && deliveryFromRow(row);
  }
  async updateWebhookDelivery(row: WebhookDeliveryRow) {
    const changes = await this.run(
      'UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at_ms = ?, completed_at_ms = ? WHERE id = ?',
      row.status,
      row.attempts,
      row.next_attempt_at_ms,
      row.completed_at_ms,
      row.id,
    );
    assert(changes === 1, `delivery ${row.id} exists`);
  }
  async claimDueWebhookDeliveries(now_ms: number, owner: string, lease_until_ms: number, limit: number) {
    const due = await this.all(
      `SELECT id FROM webhook_deliveries
       WHERE status = 'pending' AND next_attempt_at_ms <= ? AND (lease_until_ms IS NULL OR lease_until_ms <= ?)
       ORDER BY next_attempt_at_ms, id LIMIT ?${this.dialect.skip_locked}`,
      now_ms,
      now_ms,
      limit,
    );
    const claimed: WebhookDeliveryRow[] = [];
    for (const { id } of due) {
      await this.run(
        'UPDATE webhook_deliveries SET lease_owner = ?, lease_until_ms = ? WHERE id = ?',
        owner,
        lease_until_ms,
        id,
      );
      claimed.push((await this.getWebhookDelivery(text(id)))!);
    }
    return claimed;
  }
  async completeWebhookDelivery(row: WebhookDeliveryRow, owner: string) {
    const changes = await this.run(
      `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at_ms = ?, completed_at_ms = ?,
         lease_owner = NULL, lease_until_ms = NULL
       WHERE id = ? AND lease_owner = ?`,
      row.status,
      row.attempts,
      row.next_attempt_at_ms,
      row.completed_at_ms,
      row.id,
      owner,
    );
    return changes === 1;
  }
  async listWebhookDeliveries(endpoint_id: string, page: { before?: string | undefined; limit: number }) {
    const rows =
      page.before === undefined
        ? await this.all(
            'SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?',
            endpoint_id,
            page.limit,
          )
        : await this.all(
            'SELECT * FROM webhook_deliveries WHERE endpoint_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
            endpoint_id,
            page.before,
            page.limit,
          );
    return rows.map(deliveryFromRow);
  }
  async insertWebhookAttempt(row: WebhookAttemptRow) {
    await this.write(
      'INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)',
      [row.delivery_id, row.attempt, row.at_ms, row.status_code, row.error, row.duration_ms],
    );
  }
  async listWebhookAttempts(delivery_id: string) {
    return (
      await this.all('SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt', delivery_id)
    ).map((row) => ({
      delivery_id: text(row.delivery_id),
      attempt: number(row.attempt),
      at_ms: number(row.at_ms),
      status_code: nullableNumber(row.status_code),
      error: nullableText(row.error),
      duration_ms: number(row.duration_ms),
    }));
  }

  // ── Creators (SPEC C10) ──────────────────────────────────────────────────────────────

  async listCreatorCharges(
    creator_id: string,
    range: { from_ms: number; to_ms: number },
    page: { limit: number; after?: { created_at_ms: number; id: string } | undefined },
  ) {
    const after = page.after ?? { created_at_ms: range.from_ms, id: '' };
    return (
      await this.all(
        `SELECT * FROM charges WHERE creator_account_id = ? AND created_at_ms < ?
           AND (created_at_ms > ? OR (created_at_ms = ? AND id > ?))
         ORDER BY created_at_ms, id LIMIT ?`,
        creator_id,
        range.to_ms,
        after.created_at_ms,
        after.created_at_ms,
        after.id,
        page.limit,
      )
    ).map(chargeFromRow);
  }
  async sumCreatorEarnings(creator_id: string, before_ms: number) {
    const row = await this.one(
      `SELECT COALESCE(SUM(creator_micros), 0) AS share, COALESCE(SUM(creator_reversed_micros), 0) AS reversed
       FROM charges WHERE creator_account_id = ? AND created_at_ms < ?`,
      creator_id,
      before_ms,
    );
    return { share_micros: BigInt(row!.share as bigint), reversed_micros: BigInt(row!.reversed as bigint) };
  }
  async insertCreatorPayout(row: CreatorPayoutRow) {
    await this.write(
      `INSERT INTO creator_payouts (account_id, id, amount_micros, currency, amount_minor, paid_as, grant_id, reference,
         earned_before_ms, created_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        row.account_id,
        row.id,
        row.amount_micros,
        row.currency,
        row.amount_minor,
        row.paid_as,
        row.grant_id,
        row.reference,
        row.earned_before_ms,
        row.created_at_ms,
      ],
    );
  }
  async listCreatorPayouts(creator_id: string, limit: number) {
    return (
      await this.all(
        'SELECT * FROM creator_payouts WHERE account_id = ? ORDER BY created_at_ms DESC, id DESC LIMIT ?',
        creator_id,
        limit,
      )
    ).map(creatorPayoutFromRow);
  }
  async sumCreatorPayouts(creator_id: string) {
    const row = await this.one(
      'SELECT COALESCE(SUM(amount_micros), 0) AS paid FROM creator_payouts WHERE account_id = ?',
      creator_id,
    );
    return BigInt(row!.paid as bigint);
  }
  async listCreators(page: { after?: string | undefined; limit: number }) {
    return (
      await this.all(
        `SELECT DISTINCT creator_account_id AS id FROM charges
         WHERE creator_account_id IS NOT NULL AND creator_account_id > ? ORDER BY creator_account_id LIMIT ?`,
        page.after ?? '',
        page.limit,
      )
    ).map((row) => text(row.id));
  }

  // ── Analytics (SPEC C16) ─────────────────────────────────────────────────────────────

  async listExpiredCredits(range: { from_ms: number; to_ms: number }, limit: number) {
    return (
      await this.all(
        `SELECT g.account_id, g.kind, g.closed_at_ms, line.amount_micros, s.plan_id
         FROM grants g
         JOIN journal_entries line ON line.account_id = g.account_id AND line.grant_id = g.id AND line.book = 'expired'
         LEFT JOIN subscriptions s ON s.account_id = g.account_id
         WHERE g.status = 'expired' AND g.closed_at_ms >= ? AND g.closed_at_ms < ?
         ORDER BY g.closed_at_ms, g.id LIMIT ?`,
        range.from_ms,
        range.to_ms,
        limit,
      )
    ).map((row) => ({
      account_id: text(row.account_id),
      kind: text(row.kind),
      closed_at_ms: number(row.closed_at_ms),
      amount_micros: BigInt(row.amount_micros as bigint),
      plan_id: nullableText(row.plan_id),
    }));
  }
  async listChargesOfAll(
    range: { from_ms: number; to_ms: number },
    page: { limit: number; after?: { created_at_ms: number; id: string } | undefined },
  ) {
    const after = page.after ?? { created_at_ms: range.from_ms, id: '' };
    return (
      await this.all(
        `SELECT c.*, s.plan_id FROM charges c LEFT JOIN subscriptions s ON s.account_id = c.account_id
         WHERE c.created_at_ms < ? AND (c.created_at_ms > ? OR (c.created_at_ms = ? AND c.id > ?))
         ORDER BY c.created_at_ms, c.id LIMIT ?`,
        range.to_ms,
        after.created_at_ms,
        after.created_at_ms,
        after.id,
        page.limit,
      )
    ).map((row) => ({ ...chargeFromRow(row), plan_id: nullableText(row.plan_id) }));
  }

  // ── Support (SPEC C13): compensations and incidents ─────────────────────────────────

  async insertCompensation(row: CompensationRow) {
    await this.write(
      `INSERT INTO compensations (account_id, id, grant_id, amount_micros, parts_json, reason, created_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        row.account_id,
        row.id,
        row.grant_id,
        row.amount_micros,
        JSON.stringify(row.parts.map((part) => [part.charge_id, part.amount_micros.toString()])),
        row.reason,
        row.created_at_ms,
      ],
    );
  }
  async listCompensations(account_id: string) {
    return (
      await this.all(
        'SELECT * FROM compensations WHERE account_id = ? ORDER BY created_at_ms, id',
        account_id,
      )
    ).map((row) => ({
      account_id: text(row.account_id),
      id: text(row.id),
      grant_id: text(row.grant_id),
      amount_micros: bigint(row.amount_micros),
      parts: json<[string, string][]>(row.parts_json).map(([charge_id, micros]) => ({
        charge_id,
        amount_micros: BigInt(micros),
      })),
      reason: text(row.reason),
      created_at_ms: number(row.created_at_ms),
    }));
  }
  async insertIncident(row: IncidentRow) {
    await this.write(
      'INSERT INTO incidents (id, from_ms, to_ms, operations_json, note, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
      [
        row.id,
        row.from_ms,
        row.to_ms,
        row.operations === null ? null : JSON.stringify(row.operations),
        row.note,
        row.created_at_ms,
      ],
    );
  }
  async listIncidents(range: { from_ms: number; to_ms: number }) {
    return (
      await this.all(
        'SELECT * FROM incidents WHERE from_ms < ? AND to_ms > ? ORDER BY from_ms, id LIMIT 1000',
        range.to_ms,
        range.from_ms,
      )
    ).map((row) => ({
      id: text(row.id),
      from_ms: number(row.from_ms),
      to_ms: number(row.to_ms),
      operations: row.operations_json === null ? null : json<string[]>(row.operations_json),
      note: text(row.note),
      created_at_ms: number(row.created_at_ms),
    }));
  }

  // ── Teams (SPEC C11) ────────────────────────────────────────────────────────────────

  async getTeamMember(team_id: string, member_id: string) {
    const row = await this.one(
      'SELECT * FROM team_members WHERE account_id = ? AND member_id = ?',
      team_id,
      member_id,
    );
    return row && teamMemberFromRow(row);
  }
  async putTeamMember(row: TeamMemberRow) {
    await this.write(
      `INSERT INTO team_members (account_id, member_id, role, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (account_id, member_id) DO UPDATE SET role = excluded.role, updated_at_ms = excluded.updated_at_ms`,
      [row.account_id, row.member_id, row.role, row.created_at_ms, row.updated_at_ms],
    );
  }
  async deleteTeamMember(team_id: string, member_id: string) {
    await this.write(
      'DELETE FROM team_members WHERE account_id = ? AND member_id = ?',
      [team_id, member_id],
      {
        changes: 1,
        failure: `${member_id} is a member of ${team_id}`,
      },
    );
  }
  async listTeamMembers(team_id: string) {
    return (
      await this.all('SELECT * FROM team_members WHERE account_id = ? ORDER BY member_id', team_id)
    ).map(teamMemberFromRow);
  }
  async listTeamsOf(member_id: string) {
    return (
      await this.all('SELECT * FROM team_members WHERE member_id = ? ORDER BY account_id', member_id)
    ).map(teamMemberFromRow);
  }

  // ── Purchases (SPEC C9) ──────────────────────────────────────────────────────────────

  async insertPurchase(row: PurchaseRow) {
    await this.write(
      `INSERT INTO purchases (account_id, id, pack_id, quantity, terms_json, credits_micros, bonus_micros, currency,
         amount_minor, provider, status, auto_recharge, checkout_session_id, checkout_url, payment_id, grant_id,
         bonus_grant_id, refunds_json, failure, reference, created_at_ms, updated_at_ms, started_at_ms, paid_at_ms,
         expires_at_ms)
       VALUES (@account_id, @id, @pack_id, @quantity, @terms_json, @credits_micros, @bonus_micros, @currency,
         @amount_minor, @provider, @status, @auto_recharge, @checkout_session_id, @checkout_url, @payment_id, @grant_id,
         @bonus_grant_id, @refunds_json, @failure, @reference, @created_at_ms, @updated_at_ms, @started_at_ms, @paid_at_ms,
         @expires_at_ms)`,
      purchaseParameters(row),
    );
  }
  async getPurchase(id: string) {
    const row = await this.one('SELECT * FROM purchases WHERE id = ?', id);
    return row && purchaseFromRow(row);
  }
  async getPurchaseByCheckoutSession(session_id: string) {
    const row = await this.one('SELECT * FROM purchases WHERE checkout_session_id = ?', session_id);
    return row && purchaseFromRow(row);
  }
  async getPurchaseByPayment(payment_id: string) {
    const row = await this.one('SELECT * FROM purchases WHERE payment_id = ?', payment_id);
    return row && purchaseFromRow(row);
  }
  async updatePurchase(row: PurchaseRow) {
    await this.write(
      `UPDATE purchases SET status = @status, checkout_session_id = @checkout_session_id, checkout_url = @checkout_url,
         payment_id = @payment_id, grant_id = @grant_id, bonus_grant_id = @bonus_grant_id, refunds_json = @refunds_json,
         failure = @failure, reference = @reference, updated_at_ms = @updated_at_ms, started_at_ms = @started_at_ms,
         paid_at_ms = @paid_at_ms
       WHERE id = @id`,
      purchaseParameters(row),
      { changes: 1, failure: `purchase ${row.id} exists` },
    );
  }
  async listPurchases(account_id: string, page: { before?: string | undefined; limit: number }) {
    const rows =
      page.before === undefined
        ? await this.all(
            'SELECT * FROM purchases WHERE account_id = ? ORDER BY id DESC LIMIT ?',
            account_id,
            page.limit,
          )
        : await this.all(
            'SELECT * FROM purchases WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
            account_id,
            page.before,
            page.limit,
          );
    return rows.map(purchaseFromRow);
  }
  async listAllPurchases(page: {
    before?: string | undefined;
    limit: number;
    status?: PurchaseStatus | undefined;
  }) {
    return (
      await this.all(
        `SELECT * FROM purchases WHERE (CAST(? AS TEXT) IS NULL OR id < ?) AND (CAST(? AS TEXT) IS NULL OR status = ?)
         ORDER BY id DESC LIMIT ?`,
        page.before ?? null,
        page.before ?? null,
        page.status ?? null,
        page.status ?? null,
        page.limit,
      )
    ).map(purchaseFromRow);
  }
  async listPurchasesToProcess(now_ms: number, limit: number) {
    return (
      await this.all(
        `SELECT * FROM purchases WHERE status = 'pending' AND (started_at_ms IS NULL OR expires_at_ms <= ?)
         ORDER BY id LIMIT ?`,
        now_ms,
        limit,
      )
    ).map(purchaseFromRow);
  }
  async sumAutoRechargeMicros(account_id: string, since_ms: number) {
    const row = await this.one(
      `SELECT CAST(coalesce(sum(credits_micros + bonus_micros), 0) AS BIGINT) AS total FROM purchases
       WHERE account_id = ? AND auto_recharge = 1 AND created_at_ms >= ? AND status NOT IN ('failed', 'expired')`,
      account_id,
      since_ms,
    );
    return BigInt(row!.total as bigint);
  }
  async insertProviderEvent(row: ProviderEventRow) {
    await this.write(
      `INSERT INTO provider_events (provider, id, type, body_hash, purchase_id, outcome, received_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, id) DO NOTHING`,
      [row.provider, row.id, row.type, row.body_hash, row.purchase_id, row.outcome, row.received_at_ms],
    );
  }
  async getProviderEvent(provider: string, id: string) {
    const row = await this.one('SELECT * FROM provider_events WHERE provider = ? AND id = ?', provider, id);
    return row && providerEventFromRow(row);
  }
  async listProviderEvents(page: { limit: number }) {
    return (
      await this.all(
        'SELECT * FROM provider_events ORDER BY received_at_ms DESC, id DESC LIMIT ?',
        page.limit,
      )
    ).map(providerEventFromRow);
  }
  async getAutoRecharge(account_id: string) {
    const row = await this.one('SELECT * FROM auto_recharge_settings WHERE account_id = ?', account_id);
    return row && autoRechargeFromRow(row);
  }
  async putAutoRecharge(row: AutoRechargeRow) {
    await this.write(
      `INSERT INTO auto_recharge_settings (account_id, enabled, threshold_micros, pack_id, currency, monthly_max_micros,
         status, status_reason, in_flight_purchase_id, failures_in_row, resume_at_ms, updated_at_ms)
       VALUES (@account_id, @enabled, @threshold_micros, @pack_id, @currency, @monthly_max_micros, @status,
         @status_reason, @in_flight_purchase_id, @failures_in_row, @resume_at_ms, @updated_at_ms)
       ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled, threshold_micros = excluded.threshold_micros,
         pack_id = excluded.pack_id, currency = excluded.currency, monthly_max_micros = excluded.monthly_max_micros,
         status = excluded.status, status_reason = excluded.status_reason,
         in_flight_purchase_id = excluded.in_flight_purchase_id, failures_in_row = excluded.failures_in_row,
         resume_at_ms = excluded.resume_at_ms, updated_at_ms = excluded.updated_at_ms`,
      { ...row, enabled: row.enabled ? 1 : 0 },
    );
  }
  async listAutoRechargesResuming(now_ms: number, limit: number) {
    return (
      await this.all(
        `SELECT account_id FROM auto_recharge_settings
         WHERE resume_at_ms <= ? AND enabled = 1 AND status = 'active' AND in_flight_purchase_id IS NULL
         ORDER BY resume_at_ms, account_id LIMIT ?`,
        now_ms,
        limit,
      )
    ).map((row) => row.account_id as string);
  }
}
