/**
 * The service: every command validates its input, then runs in one store transaction with its
 * idempotency record. Commands return promises from the start, so commands arriving together
 * can later share one transaction (group commit) without changing any caller.
 */
import type { z } from 'zod';
import { computeBalance } from '../domain/balance.ts';
import { formatCredits } from '../domain/credits.ts';
import { type Decimal, formatDecimal, minBigint } from '../domain/decimal.ts';
import { type Allocation, planDraw, splitSettlement } from '../domain/drawdown.ts';
import { GENESIS_HASH, move } from '../domain/journal.ts';
import {
  PAGE_SIZE_MAX,
  RESERVATION_ACCOUNTS_REMEMBERED_MAX,
  RESERVATION_TTL_SECONDS_DEFAULT,
} from '../domain/limits.ts';
import { costForOutcome, type OperationPrice, type Outcome, priceRun } from '../domain/pricing.ts';
import { TallyError } from '../domain/results.ts';
import type { RunScope } from '../domain/spending.ts';
import {
  type AccountSettingsInput,
  accountIdInput,
  accountSettingsInput,
  type ChargeInput,
  chargeInput,
  type EstimateInput,
  estimateInput,
  type IssueGrantInput,
  issueGrantInput,
  type LimitInput,
  type ListChargesInput,
  limitInput,
  listChargesInput,
  listEventsInput,
  type PutAccountInput,
  publishPriceBookInput,
  putAccountInput,
  type RefundInput,
  type ReleaseInput,
  type ReserveInput,
  type RevokeGrantInput,
  refundInput,
  releaseInput,
  reserveInput,
  revokeGrantInput,
  type SettleInput,
  type SubscriptionInput,
  settleInput,
  subscriptionInput,
  type UsageInput,
  usageInput,
} from '../schema/commands.ts';
import type { PriceBookInput, TallyConfig } from '../schema/config.ts';
import { parseInput } from '../schema/parse.ts';
import type {
  AccountRow,
  ChargeRow,
  CommandHint,
  ReservationRow,
  RunMetadata,
  Store,
  StoreTransaction,
} from '../store/store.ts';
import { Access } from './access.ts';
import { AccountSession, finishSessions, type SessionEnvironment } from './account-session.ts';
import type { Clock } from './clock.ts';
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
import { canonicalJson, runIdempotent, validateIdempotencyKey } from './idempotency.ts';
import { IdGenerator } from './ids.ts';
import { effectiveLimits, type LimitView, limitKey, limitStatuses, limitView } from './limits.ts';
import { type PlanView, planView } from './plan-view.ts';
import { announceLimitsReached, insufficientCredits, runPolicy } from './policy.ts';
import { PriceBooks } from './price-books.ts';
import { type PriceTableView, priceTableView } from './price-table.ts';
import { runSchedules, scheduleAllowances } from './schedules.ts';
import {
  cancelSubscription,
  changeSubscription,
  planOf,
  type SubscriptionChange,
  type SubscriptionView,
  subscriptionView,
} from './subscriptions.ts';
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

/** The scope limits see of a run: its operation, member and project. */
function runScope(
  operation: string,
  run: { member?: string | null | undefined; metadata?: RunMetadata | undefined },
  api_key: string | null | undefined,
): RunScope {
  return {
    operation,
    member: run.member ?? null,
    project: run.metadata?.project ?? null,
    api_key: api_key ?? null,
  };
}

const usageRecord = (usage: ReadonlyMap<string, Decimal>): Record<string, string> =>
  Object.fromEntries([...usage].map(([dimension, quantity]) => [dimension, formatDecimal(quantity)]));

function runMetadata(metadata: RunMetadata | undefined): RunMetadata {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter(([, value]) => value !== undefined));
}

/**
 * Runs metered for customers are not operator actions: each is already recorded, with the API key
 * that made it, in its reservation, its charge and the journal. Auditing them too would write a
 * second row for every AI request on the hot path.
 */
const METERING_COMMANDS: ReadonlySet<string> = new Set(['reserve', 'settle', 'release', 'charge']);

export class Tally {
  private readonly ids = new IdGenerator();
  private readonly price_books = new PriceBooks();
  /** Reservation id → account id, for reservations made in this process (RESERVATION_ACCOUNTS_REMEMBERED_MAX). */
  private readonly reservation_accounts = new Map<string, string>();
  /** Secret keys and customer tokens. */
  readonly access: Access;
  /** Webhook endpoints and the dispatcher that delivers events to them. */
  readonly webhooks: Webhooks;
  private readonly kind_priority: Map<string, number>;

  private constructor(
    readonly store: Store,
    readonly config: TallyConfig,
    readonly clock: Clock,
  ) {
    this.kind_priority = new Map(config.kinds.map((kind, index) => [kind, index]));
    this.access = new Access(store, clock, this.ids);
    this.webhooks = new Webhooks(store, clock, this.ids, config.webhook_targets);
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

  /** Validates, then runs `work` in one store transaction under the command's idempotency key. */
  private async execute<Schema extends z.ZodType, Result>(
    scope: string,
    schema: Schema,
    raw_input: unknown,
    options: CommandOptions,
    work: (transaction: StoreTransaction, input: z.output<Schema>, now_ms: number) => Promise<Result>,
  ): Promise<Result> {
    const input = parseInput(schema, raw_input);
    validateIdempotencyKey(options.idempotency_key);
    const { value, replayed } = await this.store.transaction(async (transaction) => {
      const now_ms = this.clock.now_ms();
      const namespaced = options.idempotency_namespace ? `${options.idempotency_namespace}:${scope}` : scope;
      return runIdempotent(
        transaction,
        { scope: namespaced, key: options.idempotency_key, input: raw_input, now_ms },
        async () => {
          const value = await work(transaction, input, now_ms);
          await finishSessions(transaction);
          if (options.actor && !METERING_COMMANDS.has(scope))
            await this.recordAudit(transaction, options.actor, scope, raw_input, value, now_ms);
          return value;
        },
      );
    }, this.hintFor(input));
    if (replayed) options.on_replay?.();
    return value;
  }

  /** The account a command works on, where its input names it or names a reservation made here. */
  private hintFor(input: unknown): CommandHint | undefined {
    if (typeof input !== 'object' || input === null) return undefined;
    const { account, reservation } = input as { account?: unknown; reservation?: unknown };
    if (typeof account === 'string') return { account };
    if (typeof reservation === 'string') return { account: this.reservation_accounts.get(reservation) };
    return undefined;
  }

  private environment(now_ms: number): SessionEnvironment {
    return { ids: this.ids, now_ms, config: this.config, kind_priority: this.kind_priority };
  }

  /** Every limit of the session's account with what is used of it now. */
  private readonly statusesOf = (session: AccountSession) =>
    limitStatuses(
      session.transaction,
      this.config,
      session.account,
      session.subscription,
      session.account_limits,
      session.now_ms,
    );

  /** Draws a run's credits past its entitlement and limits, or refuses with every reason it cannot. */
  private async drawForRun(
    session: AccountSession,
    operation: OperationPrice,
    model: string | undefined,
    amount_micros: bigint,
    run: RunScope,
  ) {
    const { caps, context } = await runPolicy(session, this.config, operation, model, run, this.statusesOf);
    const plan = planDraw(await session.drawableGrants(), operation.id, amount_micros, session.now_ms, caps);
    if (!plan.ok) throw insufficientCredits(amount_micros, plan, context);
    await announceLimitsReached(session, context.statuses, caps, plan.allocations);
    return plan.allocations;
  }

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
      id: this.ids.next('aud', now_ms),
      actor,
      action,
      account_id:
        named(input, 'account') ??
        named(result, 'account') ??
        (action === 'put_account' ? (named(input, 'id') ?? null) : null),
      details: JSON.parse(canonicalJson(input)) as Record<string, unknown>,
      at_ms: now_ms,
    });
  }

  /** Audits an operator action that is not a ledger command (API keys, webhook endpoints). */
  async audit(
    actor: string,
    action: string,
    details: Record<string, unknown>,
    account_id: string | null = null,
  ): Promise<void> {
    await this.store.transaction((transaction) =>
      transaction.insertAudit({
        id: this.ids.next('aud', this.clock.now_ms()),
        actor,
        action,
        account_id,
        details,
        at_ms: this.clock.now_ms(),
      }),
    );
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

  /** An account's reservations, newest first. */
  async listReservations(account_id: string): Promise<ReservationView[]> {
    return this.store.read(async (transaction) => {
      await this.existingAccount(transaction, account_id);
      const rows = (await transaction.listReservations(account_id)).slice(-PAGE_SIZE_MAX).reverse();
      const now_ms = this.clock.now_ms();
      const views: ReservationView[] = [];
      for (const row of rows)
        views.push(
          reservationView(
            row,
            (await this.price_books.get(transaction, row.price_version)).credit_value,
            now_ms,
          ),
        );
      return views;
    });
  }

  /** The settings a customer may change themselves: the low-balance threshold. */
  async setAccountSettings(input: AccountSettingsInput, options: CommandOptions = {}): Promise<AccountView> {
    return this.execute(
      'account_settings',
      accountSettingsInput,
      input,
      options,
      async (transaction, request, now_ms) => {
        const session = await AccountSession.open(transaction, request.account, this.environment(now_ms));
        if (request.low_balance_threshold !== undefined)
          session.account.low_balance_threshold_micros = request.low_balance_threshold;
        session.account.updated_at_ms = now_ms;
        await transaction.updateAccount(session.account);
        return accountView(session.account);
      },
    );
  }

  async listPriceVersions(): Promise<{ version: number; effective_at: string; published_at: string }[]> {
    const rows = await this.store.read((transaction) => transaction.listPriceVersions());
    return rows.map((row) => ({
      version: row.version,
      effective_at: isoTime(row.effective_at_ms),
      published_at: isoTime(row.created_at_ms),
    }));
  }

  private operation(book_operations: ReadonlyMap<string, OperationPrice>, id: string): OperationPrice {
    const operation = book_operations.get(id);
    if (!operation) throw new TallyError('operation_not_found', `the price book has no operation ${id}`);
    return operation;
  }

  // ── Accounts ────────────────────────────────────────────────────────────────────────────

  /**
   * Creates an account or updates its timezone and metadata; with `plan`, also subscribes it or
   * changes its plan (an upgrade now, a downgrade at period end). Safe to repeat.
   */
  async putAccount(
    input: PutAccountInput,
    options: Pick<CommandOptions, 'actor'> = {},
  ): Promise<AccountView & { subscription: SubscriptionView | null }> {
    return this.execute(
      'put_account',
      putAccountInput,
      input,
      options,
      async (transaction, account, now_ms) => {
        if (account.plan !== undefined) planOf(this.config, account.plan);
        const existing = await transaction.getAccountForUpdate(account.id);
        if (existing) {
          if (existing.kind !== account.kind) {
            throw new TallyError('account_kind_mismatch', `${account.id} is a ${existing.kind} account`);
          }
          const updated = {
            ...existing,
            timezone: account.timezone ?? existing.timezone,
            metadata: account.metadata ?? existing.metadata,
            low_balance_threshold_micros:
              account.low_balance_threshold === undefined
                ? existing.low_balance_threshold_micros
                : account.low_balance_threshold,
            updated_at_ms: now_ms,
          };
          await transaction.updateAccount(updated);
          const current = await transaction.getSubscription(account.id);
          const on_plan = current?.status === 'active' && current.plan_id === account.plan;
          if (account.plan === undefined || on_plan)
            return { ...accountView(updated), subscription: current ? subscriptionView(current) : null };
          const session = await AccountSession.open(transaction, account.id, this.environment(now_ms));
          const { subscription } = await changeSubscription(session, this.config, { plan: account.plan });
          return { ...accountView(session.account), subscription };
        }
        const row: AccountRow = {
          id: account.id,
          kind: account.kind,
          timezone: account.timezone ?? 'UTC',
          status: 'active' as const,
          metadata: account.metadata ?? {},
          low_balance_threshold_micros: account.low_balance_threshold ?? null,
          balance_alert: 'none',
          schedule_due_at_ms: null,
          ledger: { sequence: 0, hash: GENESIS_HASH },
          created_at_ms: now_ms,
          updated_at_ms: now_ms,
        };
        await transaction.insertAccount(row);
        // Allowances every account has (free monthly credits, daily credits) start with the current period.
        const session = await AccountSession.open(transaction, row.id, this.environment(now_ms));
        await scheduleAllowances(session, this.config.allowances, null, now_ms, now_ms);
        await runSchedules(session, this.config);
        const subscribed =
          account.plan === undefined
            ? null
            : (await changeSubscription(session, this.config, { plan: account.plan })).subscription;
        await session.startAlertQuietly();
        return { ...accountView(session.account), subscription: subscribed };
      },
    );
  }

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

  /** Subscribes or changes plan: an upgrade applies now with prorated credits, a downgrade at period end. */
  async subscribe(input: SubscriptionInput, options: CommandOptions = {}): Promise<SubscriptionChange> {
    return this.execute(
      'subscribe',
      subscriptionInput,
      input,
      options,
      async (transaction, request, now_ms) => {
        const session = await AccountSession.open(transaction, request.account, this.environment(now_ms));
        const micros = (record: Record<string, bigint> | undefined) =>
          record && Object.fromEntries(Object.entries(record).map(([id, amount]) => [id, amount.toString()]));
        const overrides = request.overrides && {
          ...(request.overrides.allowances ? { allowances: micros(request.overrides.allowances) } : {}),
          ...(request.overrides.limits ? { limits: micros(request.overrides.limits) } : {}),
          ...(request.overrides.entitlements ? { entitlements: request.overrides.entitlements } : {}),
        };
        return changeSubscription(session, this.config, { plan: request.plan, overrides });
      },
    );
  }

  /** Cancels at the end of the current period. */
  async cancelSubscription(account_id: string, options: CommandOptions = {}): Promise<SubscriptionView> {
    return this.execute(
      'cancel_subscription',
      accountIdInput,
      { account: account_id },
      options,
      async (transaction, request, now_ms) =>
        cancelSubscription(await AccountSession.open(transaction, request.account, this.environment(now_ms))),
    );
  }

  async getSubscription(account_id: string): Promise<SubscriptionView | null> {
    await this.refreshIfDue(account_id);
    return this.store.read(async (transaction) => {
      await this.existingAccount(transaction, account_id);
      const row = await transaction.getSubscription(account_id);
      return row ? subscriptionView(row) : null;
    });
  }

  /**
   * Sets one of the account's own limits. The operator's replaces a configuration or plan limit
   * of the same id for this account. A customer's (`by_customer`) is a record of its own beside
   * them: both apply and the tighter wins. A customer may set any limit of their own, and one
   * with the id of a limit the operator or the configuration set only below that limit's max.
   */
  async putLimit(
    input: LimitInput,
    options: CommandOptions & { by_customer?: boolean } = {},
  ): Promise<LimitView> {
    return this.execute('put_limit', limitInput, input, options, async (transaction, request, now_ms) => {
      const session = await AccountSession.open(transaction, request.account, this.environment(now_ms));
      const set_by = options.by_customer ? 'customer' : 'operator';
      if (set_by === 'customer') {
        const managed = effectiveLimits(this.config, session.account_limits, session.subscription).find(
          (limit) => limit.rule.id === request.id && limit.source !== 'customer',
        );
        if (managed && request.max > managed.rule.max_micros)
          throw new TallyError(
            'limit_raise_forbidden',
            `limit ${request.id} is ${formatCredits(managed.rule.max_micros)} credits, set by the ${managed.source === 'account' ? 'operator' : managed.source}; a limit of your own may only be lower`,
            { extensions: { limit_id: request.id, max: formatCredits(managed.rule.max_micros) } },
          );
      }
      await transaction.putAccountLimit({
        account_id: request.account,
        set_by,
        id: request.id,
        window: request.window,
        max_micros: request.max,
        kinds: request.kinds ?? null,
        operations: request.operations ?? null,
        member: request.member ?? null,
        project: request.project ?? null,
        api_key: request.api_key ?? null,
        updated_at_ms: now_ms,
      });
      session.account_limits = await transaction.listAccountLimits(request.account);
      const key = limitKey(request.id, set_by === 'customer' ? 'customer' : 'account');
      const status = (await this.statusesOf(session)).find((candidate) => candidate.key === key)!;
      return limitView(status);
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

  async issueGrant(input: IssueGrantInput, options: CommandOptions = {}): Promise<GrantView> {
    return this.execute(
      'issue_grant',
      issueGrantInput,
      input,
      options,
      async (transaction, grant, now_ms) => {
        const priority = grant.priority ?? this.kind_priority.get(grant.kind);
        if (priority === undefined) {
          throw new TallyError(
            'kind_not_found',
            `no grant kind ${grant.kind}; kinds are ${this.config.kinds.join(', ')}`,
          );
        }
        const effective_at_ms = grant.effective_at ?? now_ms;
        const expires_at_ms = grant.expires_at ?? null;
        if (expires_at_ms !== null && expires_at_ms <= effective_at_ms) {
          throw new TallyError('invalid_request', 'expires_at must be after effective_at', {
            errors: [{ field: 'expires_at', code: 'invalid_request', message: 'must be after effective_at' }],
          });
        }
        const session = await AccountSession.open(transaction, grant.account, this.environment(now_ms));
        const id = this.ids.next('gr', now_ms);
        const row = await session.issueGrant(
          {
            id,
            kind: grant.kind,
            priority,
            amount_micros: grant.amount,
            effective_at_ms,
            expires_at_ms,
            source: grant.source ?? 'admin',
            reason: grant.reason ?? null,
            allowed_operations: grant.allowed_operations ?? null,
            refund_of_charge_id: null,
            metadata: grant.metadata ?? {},
            allowance_id: null,
            period_start_ms: null,
            requires_subscription: grant.requires_subscription ?? false,
          },
          { from: 'issued', type: 'grant_issue', reference_id: id },
        );
        return grantView(row, now_ms);
      },
    );
  }

  /** Takes back what a grant has left (held credits stay with their reservations). */
  async revokeGrant(input: RevokeGrantInput, options: CommandOptions = {}): Promise<GrantView> {
    return this.execute(
      'revoke_grant',
      revokeGrantInput,
      input,
      options,
      async (transaction, { grant: grant_id, reason }, now_ms) => {
        const found = await transaction.getGrant(grant_id);
        if (!found) throw new TallyError('grant_not_found', `no grant ${grant_id}`);
        const session = await AccountSession.open(transaction, found.account_id, this.environment(now_ms));
        const grant = await session.grant(grant_id);
        if (grant.status !== 'active')
          throw new TallyError('grant_not_active', `grant ${grant_id} is ${grant.status}`);
        await session.closeGrant(grant, 'revoked', now_ms, reason);
        return grantView(grant, now_ms);
      },
    );
  }

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

  async reserve(input: ReserveInput, options: CommandOptions = {}): Promise<ReservationView> {
    return this.execute('reserve', reserveInput, input, options, async (transaction, request, now_ms) => {
      const session = await AccountSession.open(transaction, request.account, this.environment(now_ms));
      const book = await this.price_books.ofVersionInForce(transaction, session.price_version_in_force);
      const operation = this.operation(book.operations, request.operation);
      const priced = priceRun(operation, {
        model: request.model,
        usage: request.usage ?? new Map(),
        add_ons: request.add_ons,
      });
      if (!priced.ok) throw new TallyError(priced.code, priced.detail);
      // The hold is the most the run may cost: what the caller allows, else the priced usage, else the operation's maximum.
      const amount_micros = request.max_credits ?? (request.usage ? priced.micros : operation.max_micros);
      if (amount_micros === undefined) {
        throw new TallyError('usage_required', `${operation.id} has no maximum; give usage or max_credits`);
      }
      const allocations = await this.drawForRun(
        session,
        operation,
        request.model,
        amount_micros,
        runScope(operation.id, request, options.api_key_id),
      );
      const row: ReservationRow = {
        account_id: request.account,
        id: this.ids.next('rsv', now_ms),
        operation: operation.id,
        model: request.model ?? null,
        add_ons: request.add_ons ?? [],
        member: request.member ?? null,
        api_key_id: options.api_key_id ?? null,
        status: 'held',
        amount_micros,
        price_version: book.version,
        allocations,
        usage: request.usage ? usageRecord(request.usage) : null,
        metadata: runMetadata(request.metadata),
        expires_at_ms: now_ms + (request.ttl_seconds ?? RESERVATION_TTL_SECONDS_DEFAULT) * 1000,
        created_at_ms: now_ms,
        resolved_at_ms: null,
        charge_id: null,
      };
      await transaction.insertReservation(row);
      await session.post('reserve', row.id, await session.takeFromGrants(allocations, 'hold', row.id));
      this.rememberAccountOf(row);
      return reservationView(row, book.credit_value, now_ms);
    });
  }

  private rememberAccountOf(reservation: ReservationRow): void {
    if (this.reservation_accounts.size >= RESERVATION_ACCOUNTS_REMEMBERED_MAX)
      this.reservation_accounts.clear();
    this.reservation_accounts.set(reservation.id, reservation.account_id);
  }

  /** Loads a reservation that is still held, refusing one that was settled, released or has expired. */
  private async heldReservation(
    transaction: StoreTransaction,
    reservation_id: string,
    now_ms: number,
  ): Promise<{ reservation: ReservationRow; session: AccountSession }> {
    const not_found = () => new TallyError('reservation_not_found', `no reservation ${reservation_id}`);
    const account_id =
      this.reservation_accounts.get(reservation_id) ??
      (await transaction.getReservation(reservation_id))?.account_id;
    if (account_id === undefined) throw not_found();
    // Read under the lock, after due work is booked: a reservation past its TTL is already expired here.
    const session = await AccountSession.open(
      transaction,
      account_id,
      this.environment(now_ms),
      reservation_id,
    );
    const reservation = session.reservation;
    if (!reservation) throw not_found();
    if (reservation.status === 'settled') throw new TallyError('reservation_already_settled');
    if (reservation.status === 'released') throw new TallyError('reservation_released');
    if (reservation.status === 'expired') {
      throw new TallyError(
        'reservation_expired',
        `reservation ${reservation_id} expired at ${isoTime(reservation.expires_at_ms)}`,
      );
    }
    return { reservation, session };
  }

  /** Posts the actual usage of a reserved run; credits not used go back to the grants they came from. */
  async settle(input: SettleInput, options: CommandOptions = {}): Promise<ChargeView> {
    return this.execute('settle', settleInput, input, options, async (transaction, request, now_ms) => {
      const { reservation, session } = await this.heldReservation(transaction, request.reservation, now_ms);
      const book = await this.price_books.get(transaction, reservation.price_version);
      const operation = this.operation(book.operations, reservation.operation);
      const priced = priceRun(operation, {
        model: reservation.model ?? undefined,
        usage: request.usage,
        add_ons: reservation.add_ons,
      });
      if (!priced.ok) throw new TallyError(priced.code, priced.detail);
      const outcome: Outcome = request.outcome ?? 'succeeded';
      const cost_micros = costForOutcome(operation, priced.micros, outcome);

      const charge_id = this.ids.next('ch', now_ms);
      const within_hold = minBigint(cost_micros, reservation.amount_micros);
      const { used, unused } = splitSettlement(reservation.allocations, within_hold);
      const entries = [
        ...used.flatMap((allocation) =>
          move('hold', 'consumed', allocation.amount_micros, {
            grant_id: allocation.grant_id,
            reservation_id: reservation.id,
          }),
        ),
        ...(await session.returnToGrants(unused, reservation.id)),
      ];
      // Above the hold: capped (the user never pays more than they were shown) unless the operator draws the excess.
      let allocations: Allocation[] = used;
      // What the run cost beyond what it was charged is recorded in every mode: under `cap` all
      // of the excess, under `draw` what the balance could not cover. The operator's analytics need it.
      const excess_micros = cost_micros - within_hold;
      let uncollected_micros = this.config.overage === 'draw' ? 0n : excess_micros;
      if (excess_micros > 0n && this.config.overage === 'draw') {
        const grants = await session.drawableGrants();
        const { caps } = await runPolicy(
          session,
          this.config,
          operation,
          reservation.model,
          runScope(operation.id, reservation, reservation.api_key_id),
          this.statusesOf,
        );
        let plan = planDraw(grants, operation.id, excess_micros, now_ms, caps);
        if (!plan.ok) {
          uncollected_micros = excess_micros - plan.available_micros;
          plan = planDraw(grants, operation.id, plan.available_micros, now_ms, caps);
        }
        if (plan.ok) {
          entries.push(...(await session.takeFromGrants(plan.allocations, 'consumed', reservation.id)));
          allocations = [...used, ...plan.allocations];
        }
      }
      const charge: ChargeRow = {
        account_id: reservation.account_id,
        id: charge_id,
        reservation_id: reservation.id,
        operation: reservation.operation,
        model: reservation.model,
        add_ons: reservation.add_ons,
        member: reservation.member,
        api_key_id: reservation.api_key_id,
        usage: usageRecord(request.usage),
        credits_micros: this.config.overage === 'draw' ? cost_micros - uncollected_micros : within_hold,
        uncollected_micros,
        allocations,
        outcome,
        price_version: reservation.price_version,
        metadata: reservation.metadata,
        refunded_micros: 0n,
        created_at_ms: now_ms,
      };
      await transaction.insertCharge(charge);
      reservation.status = 'settled';
      reservation.resolved_at_ms = now_ms;
      reservation.charge_id = charge_id;
      await transaction.updateReservation(reservation);
      await session.post('settle', reservation.id, entries);
      return chargeView(charge, book.credit_value);
    });
  }

  /** Voids a reservation: every held credit goes back. */
  async release(input: ReleaseInput, options: CommandOptions = {}): Promise<ReservationView> {
    return this.execute('release', releaseInput, input, options, async (transaction, request, now_ms) => {
      const { reservation, session } = await this.heldReservation(transaction, request.reservation, now_ms);
      await session.endReservation(reservation, 'released', now_ms);
      const book = await this.price_books.get(transaction, reservation.price_version);
      return reservationView(reservation, book.credit_value, now_ms);
    });
  }

  async getReservation(id: string): Promise<ReservationView> {
    return this.store.read(async (transaction) => {
      const reservation = await transaction.getReservation(id);
      if (!reservation) throw new TallyError('reservation_not_found', `no reservation ${id}`);
      const book = await this.price_books.get(transaction, reservation.price_version);
      return reservationView(reservation, book.credit_value, this.clock.now_ms());
    });
  }

  /** Reserve and settle in one step, for runs whose cost is known. */
  async charge(input: ChargeInput, options: CommandOptions = {}): Promise<ChargeView> {
    return this.execute('charge', chargeInput, input, options, async (transaction, request, now_ms) => {
      const session = await AccountSession.open(transaction, request.account, this.environment(now_ms));
      const book = await this.price_books.ofVersionInForce(transaction, session.price_version_in_force);
      const operation = this.operation(book.operations, request.operation);
      const priced = priceRun(operation, {
        model: request.model,
        usage: request.usage,
        add_ons: request.add_ons,
      });
      if (!priced.ok) throw new TallyError(priced.code, priced.detail);
      const outcome: Outcome = request.outcome ?? 'succeeded';
      const cost_micros = costForOutcome(operation, priced.micros, outcome);
      const allocations = await this.drawForRun(
        session,
        operation,
        request.model,
        cost_micros,
        runScope(operation.id, request, options.api_key_id),
      );
      const charge: ChargeRow = {
        account_id: request.account,
        id: this.ids.next('ch', now_ms),
        reservation_id: null,
        operation: operation.id,
        model: request.model ?? null,
        add_ons: request.add_ons ?? [],
        member: request.member ?? null,
        api_key_id: options.api_key_id ?? null,
        usage: usageRecord(request.usage),
        credits_micros: cost_micros,
        uncollected_micros: 0n,
        allocations,
        outcome,
        price_version: book.version,
        metadata: runMetadata(request.metadata),
        refunded_micros: 0n,
        created_at_ms: now_ms,
      };
      await transaction.insertCharge(charge);
      await session.post('charge', charge.id, await session.takeFromGrants(allocations, 'consumed', null));
      return chargeView(charge, book.credit_value);
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

  /** Gives back (part of) a charge as a non-expiring grant of the refund kind that points at the charge. */
  async refundCharge(input: RefundInput, options: CommandOptions = {}): Promise<RefundView> {
    return this.execute(
      'refund_charge',
      refundInput,
      input,
      options,
      async (transaction, request, now_ms) => {
        const found = await transaction.getCharge(request.charge);
        if (!found) throw new TallyError('charge_not_found', `no charge ${request.charge}`);
        const session = await AccountSession.open(transaction, found.account_id, this.environment(now_ms));
        // The bound (refund ≤ what is left of the charge) is read again under the account's lock:
        // the copy read to find the account may already be outdated by a refund committing meanwhile.
        const charge = (await transaction.getCharge(request.charge))!;
        const refundable_micros = charge.credits_micros - charge.refunded_micros;
        const amount_micros = request.amount ?? refundable_micros;
        if (amount_micros <= 0n || amount_micros > refundable_micros) {
          throw new TallyError(
            'refund_exceeds_charge',
            `${formatCredits(refundable_micros)} credits of charge ${charge.id} can still be refunded`,
          );
        }
        const refund_id = this.ids.next('rf', now_ms);
        const grant = await session.issueGrant(
          {
            id: this.ids.next('gr', now_ms),
            kind: this.config.refund_kind,
            priority: this.kind_priority.get(this.config.refund_kind)!,
            amount_micros,
            effective_at_ms: now_ms,
            expires_at_ms: null,
            source: 'refund',
            reason: request.reason,
            allowed_operations: null,
            refund_of_charge_id: charge.id,
            metadata: {},
            allowance_id: null,
            period_start_ms: null,
            requires_subscription: false,
          },
          { from: 'consumed', type: 'refund', reference_id: refund_id },
        );
        charge.refunded_micros += amount_micros;
        await transaction.updateCharge(charge);
        await transaction.insertRefund({
          account_id: charge.account_id,
          id: refund_id,
          charge_id: charge.id,
          grant_id: grant.id,
          amount_micros,
          reason: request.reason,
          created_at_ms: now_ms,
        });
        return {
          refund_id,
          charge_id: charge.id,
          amount: formatCredits(amount_micros),
          grant: grantView(grant, now_ms),
        };
      },
    );
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

  /**
   * Publishes a new price book version (earlier versions never change). It applies from its
   * `effective_at` (default: now) to reservations made from then on.
   */
  async publishPriceBook(input: PriceBookInput, options: CommandOptions = {}): Promise<PriceTableView> {
    return this.execute(
      'publish_price_book',
      publishPriceBookInput,
      input,
      options,
      async (transaction, _parsed, now_ms) =>
        priceTableView(await this.price_books.publish(transaction, input, now_ms)),
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
      const operation = this.operation(book.operations, request.operation);
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
