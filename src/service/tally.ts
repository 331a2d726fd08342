/**
 * The engine: one runner for every command (commands/*.ts: validate, idempotency key, one store
 * transaction, audit), and the library's facade over the commands, the reads (reads/), due work
 * (jobs/) and verify. Commands return promises from the start, so commands arriving together
 * share one transaction (group commit) without changing any caller.
 */
import type { z } from 'zod';
import type { refundAnswer } from '../schema/answers.ts';
import type {
  AccountSettingsInput,
  AutoRechargeInput,
  ChargeInput,
  CompensationInput,
  CreatePurchaseInput,
  IncidentInput,
  IssueGrantInput,
  LimitInput,
  MemberInput,
  PayoutInput,
  PlanOverridesInput,
  PutAccountInput,
  RefundInput,
  RefundPurchaseInput,
  ReleaseInput,
  ReserveInput,
  RevokeGrantInput,
  SettleInput,
  SubscriptionInput,
} from '../schema/commands.ts';
import type { PriceBookInput, TallyConfig } from '../schema/config.ts';
import { parseInput } from '../schema/parse.ts';
import { IdempotencyKeyTaken, type Store, type StoreTransaction } from '../store/store.ts';
import { Access } from './access.ts';
import { finishSessions, type SessionEnvironment } from './account-session.ts';
import { type Clock, TestClock } from './clock.ts';
import { accountSettingsCommand, putAccountCommand } from './commands/accounts.ts';
import type { Command, CommandEngine } from './commands/command.ts';
import { payoutCommand } from './commands/creators.ts';
import { issueGrantCommand, revokeGrantCommand } from './commands/grants.ts';
import {
  cancelSubscriptionCommand,
  planOverridesCommand,
  putLimitCommand,
  subscribeCommand,
} from './commands/plans.ts';
import { publishPriceBookCommand } from './commands/price-book.ts';
import { putAutoRechargeCommand } from './commands/purchases.ts';
import { refundChargeCommand } from './commands/refunds.ts';
import { chargeCommand, releaseCommand, reserveCommand, settleCommand } from './commands/runs.ts';
import { compensateCommand, recordIncidentCommand } from './commands/support.ts';
import { putMemberCommand, removeMemberCommand } from './commands/teams.ts';
import { canonicalJson, type KeyLookup, runIdempotent, validateIdempotencyKey } from './idempotency.ts';
import { IdGenerator } from './ids.ts';
import { bookDueWork, type DueWorkReport } from './jobs/due-work.ts';
import { Payments } from './payments/payments.ts';
import { PriceBooks } from './price-books.ts';
import * as analytics_reads from './reads/analytics.ts';
import * as creator_reads from './reads/creators.ts';
import * as purchase_reads from './reads/purchases.ts';
import * as reads from './reads/reads.ts';
import * as support_reads from './reads/support.ts';
import * as team_reads from './reads/teams.ts';
import { ReservationAccounts } from './reservation-accounts.ts';
import { type VerifyReport, verifyStore } from './verify.ts';
import { Webhooks } from './webhooks.ts';

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

export type RefundView = z.infer<typeof refundAnswer>;

export type { DueWorkReport } from './jobs/due-work.ts';

/** A read's parameters after its context. */
type OmitContext<Read> = Read extends (context: reads.ReadContext, ...args: infer Args) => infer Answer
  ? (...args: Args) => Answer
  : never;

export type { AuditView, BalanceView } from './reads/reads.ts';

export class Tally implements reads.ReadContext {
  /** What commands use of the engine (commands/command.ts). */
  private readonly engine: CommandEngine;
  readonly price_books: PriceBooks;
  /** Secret keys and customer tokens. */
  readonly access: Access;
  /** Webhook endpoints and the dispatcher that delivers events to them. */
  readonly webhooks: Webhooks;
  /** Purchases through the payment providers (payments/payments.ts). */
  readonly payments: Payments;

  private constructor(
    readonly store: Store,
    readonly config: TallyConfig,
    readonly clock: Clock,
  ) {
    const ids = new IdGenerator();
    this.price_books = new PriceBooks();
    this.access = new Access(store, clock, ids);
    this.webhooks = new Webhooks(store, clock, ids, config.webhook_targets);
    this.payments = new Payments(this);
    this.engine = {
      config,
      ids,
      price_books: this.price_books,
      kind_priority: new Map(config.kinds.map((kind, index) => [kind, index])),
      access: this.access,
      webhook_targets: config.webhook_targets,
      reservation_accounts: new ReservationAccounts(),
      test_clock: clock instanceof TestClock ? clock : undefined,
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

  environment(now_ms: number): SessionEnvironment {
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
  /** Buys credits: the purchase, and its provider asked for the money (payments/payments.ts). */
  purchase = (input: CreatePurchaseInput, options: CommandOptions = {}) =>
    this.payments.purchase(input, options);
  refundPurchase = (input: RefundPurchaseInput, options: CommandOptions = {}) =>
    this.payments.refund(input, options);
  setAutoRecharge = (input: AutoRechargeInput, options: CommandOptions = {}) =>
    this.run(putAutoRechargeCommand, input, options);
  payout = (input: PayoutInput, options: CommandOptions = {}) => this.run(payoutCommand, input, options);
  compensate = (input: CompensationInput, options: CommandOptions = {}) =>
    this.run(compensateCommand, input, options);
  recordIncident = (input: IncidentInput, options: CommandOptions = {}) =>
    this.run(recordIncidentCommand, input, options);
  putPlanOverrides = (input: PlanOverridesInput, options: CommandOptions = {}) =>
    this.run(planOverridesCommand, input, options);
  putMember = (input: MemberInput, options: CommandOptions = {}) =>
    this.run(putMemberCommand, input, options);
  removeMember = (team: string, member: string, options: CommandOptions = {}) =>
    this.run(removeMemberCommand, { team, member }, options);

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

  // ── Reads (reads/reads.ts) ────────────────────────────────────────────────────────────

  listAudit: OmitContext<typeof reads.listAudit> = (...args) => reads.listAudit(this, ...args);
  searchAccounts: OmitContext<typeof reads.searchAccounts> = (...args) => reads.searchAccounts(this, ...args);
  listReservations: OmitContext<typeof reads.listReservations> = (...args) =>
    reads.listReservations(this, ...args);
  listPriceVersions: OmitContext<typeof reads.listPriceVersions> = (...args) =>
    reads.listPriceVersions(this, ...args);
  getAccount: OmitContext<typeof reads.getAccount> = (...args) => reads.getAccount(this, ...args);
  listPlans: OmitContext<typeof reads.listPlans> = (...args) => reads.listPlans(this, ...args);
  getSubscription: OmitContext<typeof reads.getSubscription> = (...args) =>
    reads.getSubscription(this, ...args);
  listLimits: OmitContext<typeof reads.listLimits> = (...args) => reads.listLimits(this, ...args);
  listGrants: OmitContext<typeof reads.listGrants> = (...args) => reads.listGrants(this, ...args);
  listGrantPage: OmitContext<typeof reads.listGrantPage> = (...args) => reads.listGrantPage(this, ...args);
  getBalance: OmitContext<typeof reads.getBalance> = (...args) => reads.getBalance(this, ...args);
  getReservation: OmitContext<typeof reads.getReservation> = (...args) => reads.getReservation(this, ...args);
  getCharge: OmitContext<typeof reads.getCharge> = (...args) => reads.getCharge(this, ...args);
  listCharges: OmitContext<typeof reads.listCharges> = (...args) => reads.listCharges(this, ...args);
  exportCharges: OmitContext<typeof reads.exportCharges> = (...args) => reads.exportCharges(this, ...args);
  usage: OmitContext<typeof reads.usage> = (...args) => reads.usage(this, ...args);
  listEvents: OmitContext<typeof reads.listEvents> = (...args) => reads.listEvents(this, ...args);
  priceTable: OmitContext<typeof reads.priceTable> = (...args) => reads.priceTable(this, ...args);
  estimate: OmitContext<typeof reads.estimate> = (...args) => reads.estimate(this, ...args);
  remaining: OmitContext<typeof reads.remaining> = (...args) => reads.remaining(this, ...args);
  breakage: OmitContext<typeof analytics_reads.breakage> = (...args) =>
    analytics_reads.breakage(this, ...args);
  effectiveCost: OmitContext<typeof analytics_reads.effectiveCost> = (...args) =>
    analytics_reads.effectiveCost(this, ...args);
  threadReview: OmitContext<typeof support_reads.threadReview> = (...args) =>
    support_reads.threadReview(this, ...args);
  listIncidents: OmitContext<typeof support_reads.listIncidents> = (...args) =>
    support_reads.listIncidents(this, ...args);
  listMembers: OmitContext<typeof team_reads.listMembers> = (...args) =>
    team_reads.listMembers(this, ...args);
  teamsOf: OmitContext<typeof team_reads.teamsOf> = (...args) => team_reads.teamsOf(this, ...args);
  creatorEarnings: OmitContext<typeof creator_reads.creatorEarnings> = (...args) =>
    creator_reads.creatorEarnings(this, ...args);
  listPayouts: OmitContext<typeof creator_reads.listPayouts> = (...args) =>
    creator_reads.listPayouts(this, ...args);
  listCreators: OmitContext<typeof creator_reads.listCreators> = (...args) =>
    creator_reads.listCreators(this, ...args);
  listPacks: OmitContext<typeof purchase_reads.listPacks> = (...args) =>
    purchase_reads.listPacks(this, ...args);
  getPurchase: OmitContext<typeof purchase_reads.getPurchase> = (...args) =>
    purchase_reads.getPurchase(this, ...args);
  listPurchases: OmitContext<typeof purchase_reads.listPurchases> = (...args) =>
    purchase_reads.listPurchases(this, ...args);
  getAutoRecharge: OmitContext<typeof purchase_reads.getAutoRecharge> = (...args) =>
    purchase_reads.getAutoRecharge(this, ...args);
  listProviderEvents: OmitContext<typeof purchase_reads.listProviderEvents> = (...args) =>
    purchase_reads.listProviderEvents(this, ...args);

  // ── Background work and checks ──────────────────────────────────────────────────────────

  /** Books what has fallen due on every account (jobs/due-work.ts). */
  bookDueWork = (batch_size?: number): Promise<DueWorkReport> => bookDueWork(this, batch_size);

  /** Checks the whole ledger; see verify.ts for what is checked. */
  async verify(
    progress?: Parameters<typeof verifyStore>[1],
    options: { accounts?: readonly string[] } = {},
  ): Promise<VerifyReport> {
    return verifyStore(this.store, progress, options.accounts);
  }
}
