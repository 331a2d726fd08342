/**
 * The service: every command validates its input, then runs in one store transaction with its
 * idempotency record. Commands return promises from the start, so commands arriving together
 * can later share one transaction (group commit) without changing any caller.
 */
import type { z } from 'zod';
import { computeBalance } from '../domain/balance.ts';
import { formatCredits } from '../domain/credits.ts';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import {
  type AccountSettingsInput,
  type ChargeInput,
  type EstimateInput,
  estimateInput,
  type IssueGrantInput,
  type LimitInput,
  type ListChargesInput,
  listChargesInput,
  listEventsInput,
  type PutAccountInput,
  type RefundInput,
  type ReleaseInput,
  type ReserveInput,
  type RevokeGrantInput,
  type SettleInput,
  type SubscriptionInput,
  type UsageInput,
  usageInput,
} from '../schema/commands.ts';
import type { PriceBookInput, TallyConfig } from '../schema/config.ts';
import { parseInput } from '../schema/parse.ts';
import { type ChargeRow, IdempotencyKeyTaken, type Store, type StoreTransaction } from '../store/store.ts';
import { Access } from './access.ts';
import { AccountSession, finishSessions, type SessionEnvironment } from './account-session.ts';
import type { Clock } from './clock.ts';
import { accountSettingsCommand, putAccountCommand } from './commands/accounts.ts';
import type { Command, CommandEngine } from './commands/command.ts';
import { issueGrantCommand, revokeGrantCommand } from './commands/grants.ts';
import { cancelSubscriptionCommand, putLimitCommand, subscribeCommand } from './commands/plans.ts';
import { publishPriceBookCommand } from './commands/price-book.ts';
import { refundChargeCommand } from './commands/refunds.ts';
import {
  chargeCommand,
  operationOf,
  releaseCommand,
  reserveCommand,
  settleCommand,
} from './commands/runs.ts';
import {
  buildEstimate,
  buildRemaining,
  type EstimateView,
  loadSnapshot,
  type RemainingView,
} from './estimates.ts';
import {
  allCharges,
  chargeFilter,
  decodeCursor,
  encodeCursor,
  summarizeUsage,
  type UsageView,
} from './history.ts';
import { canonicalJson, type KeyLookup, runIdempotent, validateIdempotencyKey } from './idempotency.ts';
import { IdGenerator } from './ids.ts';
import { type LimitView, limitStatuses, limitView } from './limits.ts';
import { type PlanView, planView } from './plan-view.ts';
import { PriceBooks } from './price-books.ts';
import { type PriceTableView, priceTableView } from './price-table.ts';
import { ReservationAccounts } from './reservation-accounts.ts';
import { type SubscriptionView, subscriptionView } from './subscriptions.ts';
import { type VerifyReport, verifyStore } from './verify.ts';
import {
  type AccountView,
  accountView,
  type ChargeView,
  chargeView,
  type GrantView,
  grantView,
  isoTime,
  type ReservationView,
  reservationView,
} from './views.ts';
import { type EventView, eventView, Webhooks } from './webhooks.ts';

export interface CommandOptions {
  /** A replay with the same key and request returns the first result; another request under it is refused. */
  idempotency_key?: string;
  /** Keeps callers' keys apart: the same key from two API keys or customers is two keys. */
  idempotency_namespace?: string;
  /** The API key the command comes with (set by the HTTP edge from the caller, never from the body): per-key budgets apply. */
  api_key_id?: string;
  /** Who acts, for the audit log: the operator's API key id (set by the HTTP edge), or `cli`. Unset: not audited. */
  actor?: string;
  /** Called when the answer is a replay of the first result (the HTTP edge sets `Idempotent-Replayed`). */
  on_replay?: () => void;
}

export interface AuditView {
  id: string;
  actor: string;
  action: string;
  account: string | null;
  details: Record<string, unknown>;
  at: string;
}

export interface BalanceView {
  account: string;
  available: string;
  held: string;
  by_kind: Record<string, { available: string; held: string; unusable: string }>;
  grants: GrantView[];
  /** Every limit on the account, how much of it is used, and when it resets (account timezone). */
  limits: LimitView[];
  next_expiry: { amount: string; at: string } | null;
}

export interface RefundView {
  refund_id: string;
  charge_id: string;
  amount: string;
  grant: GrantView;
}

export interface DueWorkReport {
  accounts: number;
  reservations_expired: number;
  grants_expired: number;
  grants_announced: number;
}

export class Tally {
  /** What commands use of the engine (commands/command.ts). */
  private readonly engine: CommandEngine;
  private readonly price_books: PriceBooks;
  /** Secret keys and customer tokens. */
  readonly access: Access;
  /** Webhook endpoints and the dispatcher that delivers events to them. */
  readonly webhooks: Webhooks;

  private constructor(
    readonly store: Store,
    readonly config: TallyConfig,
    readonly clock: Clock,
  ) {
    const ids = new IdGenerator();
    this.price_books = new PriceBooks();
    this.access = new Access(store, clock, ids);
    this.webhooks = new Webhooks(store, clock, ids, config.webhook_targets);
    this.engine = {
      config,
      ids,
      price_books: this.price_books,
      kind_priority: new Map(config.kinds.map((kind, index) => [kind, index])),
      access: this.access,
      webhook_targets: config.webhook_targets,
      reservation_accounts: new ReservationAccounts(),
    };
  }

  /** Opens the engine on a store: registers the configuration's price book version (refusing a changed one). */
  static async open(store: Store, config: TallyConfig, clock: Clock): Promise<Tally> {
    const tally = new Tally(store, config, clock);
    await store.transaction((transaction) =>
      tally.price_books.register(transaction, config.price_book_document, clock.now_ms()),
    );
    return tally;
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /**
   * The one command pipeline: validates the input, then in one store transaction claims (or
   * looks up) the idempotency key, runs the command on the account its input names, books the
   * sessions' balance alerts, audits an operator's call, and answers.
   */
  async run<Schema extends z.ZodType, Answer>(
    command: Command<Schema, Answer>,
    raw_input: unknown,
    options: CommandOptions = {},
  ): Promise<Answer> {
    const input = parseInput(command.input, raw_input);
    validateIdempotencyKey(options.idempotency_key);
    const account = command.account?.(input, this.engine);
    const scope = options.idempotency_namespace
      ? `${options.idempotency_namespace}:${command.name}`
      : command.name;
    const attempt = (lookup: KeyLookup) =>
      this.store.transaction(
        async (transaction) => {
          const now_ms = this.clock.now_ms();
          return runIdempotent(
            transaction,
            { scope, key: options.idempotency_key, input: raw_input, now_ms, lookup, record: command.record },
            async () => {
              const answer = await command.run(
                {
                  engine: this.engine,
                  transaction,
                  now_ms,
                  environment: this.environment(now_ms),
                  api_key_id: options.api_key_id,
                },
                input,
              );
              await finishSessions(transaction);
              if (options.actor && command.audited && (command.audit_when?.(answer) ?? true))
                await this.recordAudit(transaction, options.actor, command.name, raw_input, answer, now_ms);
              return answer;
            },
          );
        },
        account === undefined ? undefined : { account },
      );
    let result: Awaited<ReturnType<typeof attempt>>;
    try {
      result = await attempt(this.store.writes_wait_for_commit ? 'at_commit' : 'first');
    } catch (error) {
      // Another command under this key committed first: answer from its record.
      if (!(error instanceof IdempotencyKeyTaken)) throw error;
      result = await attempt('first');
    }
    command.committed?.(this.engine, result.value as Answer);
    if (result.replayed) options.on_replay?.();
    return result.value as Answer;
  }

  private environment(now_ms: number): SessionEnvironment {
    return { ids: this.engine.ids, now_ms, config: this.config, kind_priority: this.engine.kind_priority };
  }

  // ── Commands (commands/*.ts), as methods for the library ─────────────────────────────────

  putAccount = (input: PutAccountInput, options: CommandOptions = {}) =>
    this.run(putAccountCommand, input, options);
  setAccountSettings = (input: AccountSettingsInput, options: CommandOptions = {}) =>
    this.run(accountSettingsCommand, input, options);
  subscribe = (input: SubscriptionInput, options: CommandOptions = {}) =>
    this.run(subscribeCommand, input, options);
  cancelSubscription = (account: string, options: CommandOptions = {}) =>
    this.run(cancelSubscriptionCommand, { account }, options);
  /** Sets a limit: the operator's, or with `by_customer` the customer's own (see commands/plans.ts). */
  putLimit = (input: LimitInput, options: CommandOptions & { by_customer?: boolean } = {}) =>
    this.run(putLimitCommand, { ...input, set_by: options.by_customer ? 'customer' : 'operator' }, options);
  issueGrant = (input: IssueGrantInput, options: CommandOptions = {}) =>
    this.run(issueGrantCommand, input, options);
  revokeGrant = (input: RevokeGrantInput, options: CommandOptions = {}) =>
    this.run(revokeGrantCommand, input, options);
  reserve = (input: ReserveInput, options: CommandOptions = {}) => this.run(reserveCommand, input, options);
  settle = (input: SettleInput, options: CommandOptions = {}) => this.run(settleCommand, input, options);
  release = (input: ReleaseInput, options: CommandOptions = {}) => this.run(releaseCommand, input, options);
  charge = (input: ChargeInput, options: CommandOptions = {}) => this.run(chargeCommand, input, options);
  refundCharge = (input: RefundInput, options: CommandOptions = {}): Promise<RefundView> =>
    this.run(refundChargeCommand, input, options);
  publishPriceBook = (input: PriceBookInput, options: CommandOptions = {}) =>
    this.run(publishPriceBookCommand, input, options);

  /** One audit entry for an operator action, in the transaction that made the change. */
  private async recordAudit(
    transaction: StoreTransaction,
    actor: string,
    action: string,
    input: unknown,
    result: unknown,
    now_ms: number,
  ): Promise<void> {
    const named = (value: unknown, key: string) =>
      value && typeof value === 'object' && typeof (value as Record<string, unknown>)[key] === 'string'
        ? ((value as Record<string, unknown>)[key] as string)
        : undefined;
    await transaction.insertAudit({
      id: this.engine.ids.next('aud', now_ms),
      actor,
      action,
      account_id:
        named(input, 'account') ??
        named(result, 'account') ??
        (action === 'put_account' ? (named(input, 'id') ?? null) : null),
      // What was asked, and the id of what it made (a grant, a key, an endpoint) when the input has none.
      details: {
        ...(named(input, 'id') === undefined && named(result, 'id') !== undefined
          ? { id: named(result, 'id') }
          : {}),
        ...(JSON.parse(canonicalJson(input)) as Record<string, unknown>),
      },
      at_ms: now_ms,
    });
  }

  async listAudit(query: {
    account?: string;
    cursor?: string;
    limit?: number;
  }): Promise<{ data: AuditView[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const rows = await this.store.read((transaction) =>
      transaction.listAudit({ account_id: query.account, before: query.cursor }, limit + 1),
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map((row) => ({
        id: row.id,
        actor: row.actor,
        action: row.action,
        account: row.account_id,
        details: row.details,
        at: isoTime(row.at_ms),
      })),
      next_cursor: rows.length > limit ? page.at(-1)!.id : null,
    };
  }

  /** Accounts whose id starts with `prefix`, in id order. */
  async searchAccounts(query: {
    prefix?: string;
    cursor?: string;
    limit?: number;
  }): Promise<{ data: AccountView[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const rows = await this.store.read((transaction) =>
      transaction.searchAccounts(query.prefix ?? '', query.cursor ?? null, limit + 1),
    );
    const page = rows.slice(0, limit);
    return { data: page.map(accountView), next_cursor: rows.length > limit ? page.at(-1)!.id : null };
  }

  /** An account's reservations, newest first, a page at a time (paged in the store). */
  async listReservations(
    account_id: string,
    query: { limit?: number; cursor?: string } = {},
  ): Promise<{ data: ReservationView[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(query.limit ?? PAGE_SIZE_DEFAULT, 1), PAGE_SIZE_MAX);
    return this.store.read(async (transaction) => {
      await this.existingAccount(transaction, account_id);
      const rows = await transaction.listReservationPage(account_id, {
        limit: limit + 1,
        before: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      });
      const page = rows.slice(0, limit);
      const now_ms = this.clock.now_ms();
      const data: ReservationView[] = [];
      for (const row of page)
        data.push(
          reservationView(
            row,
            (await this.price_books.get(transaction, row.price_version)).credit_value,
            now_ms,
          ),
        );
      return { data, next_cursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null };
    });
  }

  async listPriceVersions(): Promise<{ version: number; effective_at: string; published_at: string }[]> {
    const rows = await this.store.read((transaction) => transaction.listPriceVersions());
    return rows.map((row) => ({
      version: row.version,
      effective_at: isoTime(row.effective_at_ms),
      published_at: isoTime(row.created_at_ms),
    }));
  }

  // ── Accounts ────────────────────────────────────────────────────────────────────────────

  async getAccount(id: string): Promise<AccountView & { subscription: SubscriptionView | null }> {
    await this.refreshIfDue(id);
    return this.store.read(async (transaction) => {
      const account = await this.existingAccount(transaction, id);
      const subscription = await transaction.getSubscription(id);
      return { ...accountView(account), subscription: subscription ? subscriptionView(subscription) : null };
    });
  }

  // ── Plans, subscriptions and limits ────────────────────────────────────────────────────

  listPlans(): PlanView[] {
    return [...this.config.plans.values()].sort((a, b) => a.rank - b.rank).map(planView);
  }

  async getSubscription(account_id: string): Promise<SubscriptionView | null> {
    await this.refreshIfDue(account_id);
    return this.store.read(async (transaction) => {
      await this.existingAccount(transaction, account_id);
      const row = await transaction.getSubscription(account_id);
      return row ? subscriptionView(row) : null;
    });
  }

  async listLimits(account_id: string): Promise<LimitView[]> {
    await this.refreshIfDue(account_id);
    return this.store.read(async (transaction) => {
      const account = await this.existingAccount(transaction, account_id);
      const subscription = await transaction.getSubscription(account_id);
      const account_limits = await transaction.listAccountLimits(account_id);
      const now_ms = this.clock.now_ms();
      return (
        await limitStatuses(transaction, this.config, account, subscription, account_limits, now_ms)
      ).map(limitView);
    });
  }

  /**
   * Reads are exact at any instant: when scheduled work (an allowance period, a renewal) has
   * fallen due and no job has run it yet, it is run first.
   */
  private async refreshIfDue(account_id: string): Promise<void> {
    const now_ms = this.clock.now_ms();
    const account = await this.store.read((transaction) => transaction.getAccount(account_id));
    if (!account || account.schedule_due_at_ms === null || account.schedule_due_at_ms > now_ms) return;
    await this.store.transaction(async (transaction) => {
      await AccountSession.open(transaction, account_id, this.environment(now_ms));
      await finishSessions(transaction);
    });
  }

  // ── Grants ──────────────────────────────────────────────────────────────────────────────

  async listGrants(account_id: string): Promise<GrantView[]> {
    return (await this.getBalance(account_id)).grants;
  }

  // ── Balance ─────────────────────────────────────────────────────────────────────────────

  /** The balance at this instant: exact whether or not due work has been booked. */
  async getBalance(account_id: string): Promise<BalanceView> {
    await this.refreshIfDue(account_id);
    return this.store.read(async (transaction) => {
      const now_ms = this.clock.now_ms();
      const account = await this.existingAccount(transaction, account_id);
      const grants = await transaction.listGrants(account_id);
      const held = await transaction.listHeldReservations(account_id);
      const subscription = await transaction.getSubscription(account_id);
      const balance = computeBalance(
        grants,
        held,
        this.config.kinds,
        now_ms,
        subscription?.status === 'active',
      );
      const account_limits = await transaction.listAccountLimits(account_id);
      const limits = await limitStatuses(
        transaction,
        this.config,
        account,
        subscription,
        account_limits,
        now_ms,
      );
      const by_kind: BalanceView['by_kind'] = {};
      for (const [kind, amounts] of balance.by_kind) {
        by_kind[kind] = {
          available: formatCredits(amounts.available_micros),
          held: formatCredits(amounts.held_micros),
          unusable: formatCredits(amounts.unusable_micros),
        };
      }
      return {
        account: account_id,
        available: formatCredits(balance.available_micros),
        held: formatCredits(balance.held_micros),
        by_kind,
        grants: grants.map((grant) =>
          grantView(grant, now_ms, balance.grants.get(grant.id)?.available_micros ?? grant.remaining_micros),
        ),
        limits: limits.map(limitView),
        next_expiry: balance.next_expiry && {
          amount: formatCredits(balance.next_expiry.amount_micros),
          at: isoTime(balance.next_expiry.at_ms),
        },
      };
    });
  }

  // ── Reservations and charges ────────────────────────────────────────────────────────────

  async getReservation(id: string): Promise<ReservationView> {
    return this.store.read(async (transaction) => {
      const reservation = await transaction.getReservation(id);
      if (!reservation) throw new TallyError('reservation_not_found', `no reservation ${id}`);
      const book = await this.price_books.get(transaction, reservation.price_version);
      return reservationView(reservation, book.credit_value, this.clock.now_ms());
    });
  }

  async getCharge(id: string): Promise<ChargeView> {
    return this.store.read(async (transaction) => {
      const charge = await transaction.getCharge(id);
      if (!charge) throw new TallyError('charge_not_found', `no charge ${id}`);
      const book = await this.price_books.get(transaction, charge.price_version);
      return chargeView(charge, book.credit_value);
    });
  }

  // ── History ─────────────────────────────────────────────────────────────────────────────

  /** An account's charges, newest first, filtered, one page at a time. */
  async listCharges(input: ListChargesInput): Promise<{ data: ChargeView[]; next_cursor: string | null }> {
    const query = parseInput(listChargesInput, input);
    const after = decodeCursor(query.cursor);
    return this.store.read(async (transaction) => {
      await this.existingAccount(transaction, query.account);
      const rows = await transaction.listCharges(chargeFilter(query), { limit: query.limit + 1, after });
      const page = rows.slice(0, query.limit);
      return {
        data: await this.chargeViews(transaction, page),
        next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)!) : null,
      };
    });
  }

  /** Every charge matching a filter (for exports), newest first; refused beyond HISTORY_ROWS_MAX rows. */
  async exportCharges(input: Omit<ListChargesInput, 'limit' | 'cursor'>): Promise<ChargeView[]> {
    const query = parseInput(listChargesInput, input);
    return this.store.read(async (transaction) => {
      await this.existingAccount(transaction, query.account);
      const rows = await allCharges(transaction, chargeFilter(query));
      return this.chargeViews(transaction, rows);
    });
  }

  /** Usage grouped by day (account timezone), operation, model, thread, project, member or outcome. */
  async usage(input: UsageInput): Promise<UsageView> {
    const query = parseInput(usageInput, input);
    return this.store.read(async (transaction) => {
      const account = await this.existingAccount(transaction, query.account);
      return summarizeUsage(query, await allCharges(transaction, chargeFilter(query)), account.timezone);
    });
  }

  /** Charges shown with money at their own price version's credit value. */
  private async chargeViews(
    transaction: StoreTransaction,
    rows: readonly ChargeRow[],
  ): Promise<ChargeView[]> {
    const views: ChargeView[] = [];
    for (const row of rows)
      views.push(chargeView(row, (await this.price_books.get(transaction, row.price_version)).credit_value));
    return views;
  }

  private async existingAccount(transaction: StoreTransaction, account_id: string) {
    const account = await transaction.getAccount(account_id);
    if (!account) throw new TallyError('account_not_found', `no account ${account_id}`);
    return account;
  }

  /** The event feed, oldest first after `cursor` (an event id); optionally of one account and one type. */
  async listEvents(input: {
    account?: string;
    type?: string;
    cursor?: string;
    limit?: number;
  }): Promise<{ data: EventView[]; next_cursor: string | null }> {
    const query = parseInput(listEventsInput, input);
    const rows = await this.store.read((transaction) =>
      transaction.listEvents(
        { account_id: query.account, type: query.type, after: query.cursor },
        query.limit + 1,
      ),
    );
    const page = rows.slice(0, query.limit);
    return { data: page.map(eventView), next_cursor: rows.length > query.limit ? page.at(-1)!.id : null };
  }

  // ── Prices and forecasts ─────────────────────────────────────────────────────────────────

  /** The public price table of the version in force now, or of a given version. */
  async priceTable(version?: number): Promise<PriceTableView> {
    return this.store.read(async (transaction) =>
      priceTableView(
        version === undefined
          ? await this.price_books.inForceAt(transaction, this.clock.now_ms())
          : await this.price_books.get(transaction, version),
      ),
    );
  }

  /** Prices one run for an account before it happens; changes nothing. */
  async estimate(
    input: EstimateInput,
    options: Pick<CommandOptions, 'api_key_id'> = {},
  ): Promise<EstimateView> {
    const request = parseInput(estimateInput, input);
    await this.refreshIfDue(request.account);
    return this.store.read(async (transaction) => {
      const now_ms = this.clock.now_ms();
      const book = await this.price_books.inForceAt(transaction, now_ms);
      const operation = operationOf(book.operations, request.operation);
      const snapshot = await loadSnapshot(transaction, request.account, this.config, now_ms);
      return buildEstimate(request, operation, book, snapshot, this.config, now_ms, options.api_key_id);
    });
  }

  /** "About N more": runs the balance covers for every operation at typical usage, and runway at the recent burn rate. */
  async remaining(account_id: string): Promise<RemainingView> {
    await this.refreshIfDue(account_id);
    return this.store.read(async (transaction) => {
      const now_ms = this.clock.now_ms();
      const book = await this.price_books.inForceAt(transaction, now_ms);
      const snapshot = await loadSnapshot(transaction, account_id, this.config, now_ms);
      return buildRemaining(account_id, book, snapshot, this.config, now_ms);
    });
  }

  // ── Background work and checks ──────────────────────────────────────────────────────────

  /**
   * Books reservations past their TTL and grants past their expiry. Balances never depend on
   * this having run; it keeps the stored rows and journal in step with the clock.
   */
  async bookDueWork(batch_size = 100): Promise<DueWorkReport> {
    const report: DueWorkReport = {
      accounts: 0,
      reservations_expired: 0,
      grants_expired: 0,
      grants_announced: 0,
    };
    for (;;) {
      const now_ms = this.clock.now_ms();
      const expiring_soon_ms = this.config.expiring_soon_days * 86_400_000;
      const account_ids = await this.store.read((transaction) =>
        transaction.listAccountsWithDueWork(now_ms, now_ms + expiring_soon_ms, batch_size),
      );
      if (account_ids.length === 0) return report;
      for (const account_id of account_ids) {
        // Opening a session books everything due on the account.
        const booked = await this.store.transaction(async (transaction) => {
          const session = await AccountSession.open(transaction, account_id, this.environment(now_ms));
          await finishSessions(transaction);
          return session.booked_on_open;
        });
        report.accounts++;
        report.reservations_expired += booked.reservations_expired;
        report.grants_expired += booked.grants_expired;
        report.grants_announced += booked.grants_announced;
      }
    }
  }

  /** Checks the whole ledger; see verify.ts for what is checked. */
  async verify(
    progress?: Parameters<typeof verifyStore>[1],
    options: { accounts?: readonly string[] } = {},
  ): Promise<VerifyReport> {
    return verifyStore(this.store, progress, options.accounts);
  }
}
