/**
 * The one store interface (STYLE rule 9). The service runs every command inside
 * `transaction`, so a command's reads, its journal transaction, its row updates and its
 * idempotency record commit together or not at all. Adapters live in one folder per dialect
 * and run the same contract suite (store-contract.ts).
 *
 * Every customer-side row leads with its account id, so tables can be partitioned by account.
 */
import type { Allocation } from '../domain/drawdown.ts';
import type { ChainHead, JournalTransaction } from '../domain/journal.ts';
import type { LimitRule } from '../domain/plans.ts';
import type { Outcome } from '../domain/pricing.ts';

export type AccountKind = 'user' | 'team';

export interface AccountRow {
  id: string;
  kind: AccountKind;
  timezone: string;
  status: 'active' | 'closed';
  metadata: Record<string, string>;
  /** Below this many usable micro-credits, balance.low fires (once per crossing); null for never. */
  low_balance_threshold_micros: bigint | null;
  /** Below this many usable micro-credits an auto-recharge starts; null when it is off. */
  auto_recharge_below_micros: bigint | null;
  /** Credits the account owes (a refunded purchase's spent credits), repaid from the next it receives. */
  debt_micros: bigint;
  /** The balance alert last raised: re-armed when the balance recovers. */
  balance_alert: 'none' | 'low' | 'depleted';
  /** When scheduled work (an allowance period, a renewal) next falls due; null when nothing is scheduled. */
  schedule_due_at_ms: number | null;
  /** Head of this account's journal hash chain. */
  ledger: ChainHead;
  created_at_ms: number;
  updated_at_ms: number;
}

/** Stored status; `pending` and `expired`-before-booking are derived at read time from the clock. */
export type GrantRowStatus = 'active' | 'expired' | 'revoked';
export type GrantSource =
  | 'admin'
  | 'allowance'
  | 'plan'
  | 'proration'
  | 'rollover'
  | 'purchase'
  | 'refund'
  | 'compensation'
  | 'promotion'
  /** A creator's earnings paid out as credits (SPEC C10). */
  | 'creator_earnings';

export interface GrantRow {
  account_id: string;
  id: string;
  kind: string;
  priority: number;
  amount_micros: bigint;
  /** Not held, not spent, not expired: what the journal's `grant` book holds for this grant. */
  remaining_micros: bigint;
  effective_at_ms: number;
  expires_at_ms: number | null;
  source: GrantSource;
  reason: string | null;
  status: GrantRowStatus;
  allowed_operations: string[] | null;
  refund_of_charge_id: string | null;
  metadata: Record<string, string>;
  created_at_ms: number;
  closed_at_ms: number | null;
  /** Why the operator revoked it; null for grants that expired or are open. */
  closed_reason: string | null;
  /** Whether grant.expiring_soon has been sent for it. */
  expiring_notified: boolean;
  /** The allowance and period it was issued for; null for grants not issued by an allowance. */
  allowance_id: string | null;
  period_start_ms: number | null;
  /** Premium credits: usable only while the account has an active subscription. */
  requires_subscription: boolean;
}

export type ReservationRowStatus = 'held' | 'settled' | 'released' | 'expired';

export interface RunMetadata {
  thread?: string | undefined;
  project?: string | undefined;
  app?: string | undefined;
  author?: string | undefined;
  /** The prompt (or other work of its author) the run used: creators' earnings group by it. */
  prompt?: string | undefined;
  request_id?: string | undefined;
  tags?: string[] | undefined;
}

export interface ReservationRow {
  account_id: string;
  id: string;
  operation: string;
  model: string | null;
  add_ons: string[];
  member: string | null;
  /** The API key the run was reserved with; null for library calls and customer tokens. */
  api_key_id: string | null;
  status: ReservationRowStatus;
  amount_micros: bigint;
  price_version: number;
  /** Which grants the held credits came from, in draw-down order. */
  allocations: Allocation[];
  /** Usage the reservation was priced from, as decimal strings; null when reserved by max_credits. */
  usage: Record<string, string> | null;
  metadata: RunMetadata;
  expires_at_ms: number;
  created_at_ms: number;
  resolved_at_ms: number | null;
  charge_id: string | null;
}

export interface ChargeRow {
  account_id: string;
  id: string;
  reservation_id: string | null;
  operation: string;
  model: string | null;
  add_ons: string[];
  member: string | null;
  api_key_id: string | null;
  usage: Record<string, string>;
  credits_micros: bigint;
  /** Cost above what could be drawn when overage is drawn from the balance and the balance ran out. */
  uncollected_micros: bigint;
  allocations: Allocation[];
  outcome: Outcome;
  price_version: number;
  metadata: RunMetadata;
  refunded_micros: bigint;
  /** Where the usage came from when Tally measured it (the proxy); null when the caller gave it. */
  usage_source: UsageSource | null;
  /** The creator of the work run and their share of the charge (SPEC C10); null when none earns. */
  creator: ChargeCreator | null;
  created_at_ms: number;
}

export interface ChargeCreator {
  account_id: string;
  basis: 'cost' | 'premium';
  /** Booked from the charge to the creator, rounded down (domain/creators.ts). */
  share_micros: bigint;
  /** What refunds took back of the share. */
  reversed_micros: bigint;
}

/** `reported` by the model's provider, `counted` from the streamed output, or counted until the client went. */
export type UsageSource = 'reported' | 'counted' | 'client_disconnected';

export interface RefundRow {
  account_id: string;
  id: string;
  charge_id: string;
  grant_id: string;
  amount_micros: bigint;
  reason: string;
  created_at_ms: number;
}

export interface IdempotencyRow {
  scope: string;
  key: string;
  request_hash: string;
  response_json: string;
  created_at_ms: number;
}

export interface PriceVersionRow {
  version: number;
  effective_at_ms: number;
  /** The version's canonical JSON; a published version never changes. */
  document_json: string;
  created_at_ms: number;
}

export interface EventRow {
  account_id: string;
  id: string;
  type: string;
  data: Record<string, unknown>;
  created_at_ms: number;
}

export interface WebhookEndpointRow {
  id: string;
  url: string;
  /** Event types it receives; `*` for all. */
  event_types: string[];
  /** `whsec_…`, the Standard Webhooks signing secret. */
  secret: string;
  created_at_ms: number;
  disabled_at_ms: number | null;
}

export interface WebhookDeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at_ms: number;
  created_at_ms: number;
  completed_at_ms: number | null;
}

export interface WebhookAttemptRow {
  delivery_id: string;
  attempt: number;
  at_ms: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface AllowanceScheduleRow {
  account_id: string;
  allowance_id: string;
  /** The plan the allowance comes from; null for allowances every account has. */
  plan_id: string | null;
  /** Billing cycles repeat from here. */
  anchor_ms: number;
  next_period_start_ms: number;
}

export interface SubscriptionOverrides {
  /** Allowance amounts by allowance id, in micro-credits as decimal strings. */
  allowances?: Record<string, string>;
  /** Limit maxima by limit id, in micro-credits as decimal strings. */
  limits?: Record<string, string>;
  entitlements?: string[];
  /** Price factors by operation id (decimal strings: "0.8" is 20 % off), for this account only. */
  prices?: Record<string, string>;
}

export interface SubscriptionRow {
  account_id: string;
  plan_id: string;
  status: 'active' | 'canceled';
  anchor_ms: number;
  current_period_start_ms: number;
  current_period_end_ms: number;
  cancel_at_period_end: boolean;
  /** A downgrade waiting for the period to end. */
  pending_plan_id: string | null;
  overrides: SubscriptionOverrides;
  started_at_ms: number;
  ended_at_ms: number | null;
  updated_at_ms: number;
}

/** A limit the account set for itself (or an operator set for it): a limit rule, kept per account. */
/** Who set an account's own limit: the operator (it may replace a plan's) or the customer (it only adds). */
export type LimitSetter = 'operator' | 'customer';

export interface AccountLimitRow extends LimitRule {
  account_id: string;
  set_by: LimitSetter;
  updated_at_ms: number;
}

export interface AuditRow {
  id: string;
  /** Who acted: an API key id, `cli`, or `library`. */
  actor: string;
  /** The command, e.g. `issue_grant`. */
  action: string;
  account_id: string | null;
  details: Record<string, unknown>;
  at_ms: number;
}

export type KeyScope = 'admin' | 'write' | 'read';

export interface ApiKeyRow {
  id: string;
  secret_hash: string;
  /** The first characters of the secret, so people can tell their keys apart. */
  secret_prefix: string;
  scope: KeyScope;
  name: string;
  created_at_ms: number;
  revoked_at_ms: number | null;
}

/** Which charges of an account a history query wants; every field narrows it. */
export interface ChargeFilter {
  account_id: string;
  from_ms?: number | undefined;
  /** Exclusive. */
  to_ms?: number | undefined;
  operation?: string | undefined;
  model?: string | undefined;
  member?: string | undefined;
  outcome?: Outcome | undefined;
  thread?: string | undefined;
  project?: string | undefined;
  app?: string | undefined;
}

/** Newest first; `after` is the (created_at_ms, id) of the last row of the previous page. */
export interface ChargePage {
  limit: number;
  after?: { created_at_ms: number; id: string } | undefined;
}

export interface DueItem {
  account_id: string;
  id: string;
}

/** An account locked for a command, with what the command reads of it first. */
export interface OpenedAccount {
  account: AccountRow;
  subscription: SubscriptionRow | undefined;
  lapsed_reservations: ReservationRow[];
  open_grants: GrantRow[];
  /** The account's own limits (configuration and plan limits come from the configuration). */
  account_limits: AccountLimitRow[];
  /** The price book version in force at the instant the account was opened, if any is yet. */
  price_version_in_force: number | null;
  /**
   * The reservation asked for, read under the lock, if it is this account's. When it is among the
   * lapsed ones it is that same object, so booking the lapse shows in it.
   */
  reservation: ReservationRow | undefined;
  /**
   * Every reservation the account held when opened, where the store read or remembered them all
   * anyway (limits count the live ones, and need not read them again). Read-only.
   */
  held_reservations?: readonly ReservationRow[];
}

/** Accounts, and the lock every command on one takes first. */
export interface AccountStore {
  /** Reads an account and, on stores with row locks, locks it until the transaction ends. */
  getAccountForUpdate(id: string): Promise<AccountRow | undefined>;
  /**
   * Locks the account (as getAccountForUpdate) and reads what every command needs of it next, in
   * one round trip where the database allows: its subscription, its held reservations whose TTL
   * ended at or before `now_ms`, its open grants, its own limits, the price book version in force
   * and, when a command works on one, the reservation `reservation_id`.
   */
  openAccountForUpdate(
    id: string,
    now_ms: number,
    reservation_id?: string,
  ): Promise<OpenedAccount | undefined>;
  getAccount(id: string): Promise<AccountRow | undefined>;
  insertAccount(row: AccountRow): Promise<void>;
  updateAccount(row: AccountRow): Promise<void>;
  listAccountIds(after: string | null, limit: number): Promise<string[]>;
  /** Accounts whose id starts with `prefix`, in id order after `after`. */
  searchAccounts(prefix: string, after: string | null, limit: number): Promise<AccountRow[]>;
}

/** Grants: the buckets credits are held in. */
export interface GrantStore {
  getGrant(id: string): Promise<GrantRow | undefined>;
  /** Grants not yet closed (stored status `active`), any effective time. */
  listOpenGrants(account_id: string): Promise<GrantRow[]>;
  listGrants(account_id: string): Promise<GrantRow[]>;
  /**
   * One page of the account's grants in creation order, after `after`, optionally only those in
   * a state at `now_ms` (pending: not yet in force; expired: closed as such or past its expiry).
   */
  listGrantPage(
    account_id: string,
    page: {
      limit: number;
      after?: { created_at_ms: number; id: string } | undefined;
      state?: 'pending' | 'active' | 'expired' | 'revoked' | undefined;
      now_ms: number;
    },
  ): Promise<GrantRow[]>;
  insertGrant(row: GrantRow): Promise<void>;
  /**
   * Moves a grant's remaining by `delta_micros` only if it stays within 0..amount and the grant is
   * open; otherwise the transaction fails (an invariant violation) and changes nothing. The
   * database, not the caller's copy, decides — possibly only when the transaction commits.
   */
  adjustGrantRemaining(account_id: string, id: string, delta_micros: bigint): Promise<void>;
  /** Writes remaining, status, closed_at and closed_reason of a grant. */
  updateGrant(row: GrantRow): Promise<void>;
}

/** Reservations: credits held for a run. */
export interface ReservationStore {
  getReservation(id: string): Promise<ReservationRow | undefined>;
  listHeldReservations(account_id: string): Promise<ReservationRow[]>;
  /** Every reservation of the account, oldest first (for verify and tools; pages read listReservationPage). */
  listReservations(account_id: string): Promise<ReservationRow[]>;
  /** One page of the account's reservations, newest first, from before `before` (a (created_at_ms, id) position). */
  listReservationPage(
    account_id: string,
    page: { limit: number; before?: { created_at_ms: number; id: string } | undefined },
  ): Promise<ReservationRow[]>;
  insertReservation(row: ReservationRow): Promise<void>;
  /** Writes status, resolved_at and charge_id of a reservation. */
  updateReservation(row: ReservationRow): Promise<void>;
}

/** Charges and their refunds. */
export interface ChargeStore {
  getCharge(id: string): Promise<ChargeRow | undefined>;
  insertCharge(row: ChargeRow): Promise<void>;
  /**
   * Writes refunded_micros (and the creator's reversed share) of a charge; a value above its
   * credits (or share) breaks an invariant and fails.
   */
  updateCharge(row: ChargeRow): Promise<void>;
  insertRefund(row: RefundRow): Promise<void>;
  listCharges(filter: ChargeFilter, page: ChargePage): Promise<ChargeRow[]>;
  /** An account's charges created at or after `since_ms`, newest first, at most `limit`. */
  listRecentCharges(account_id: string, since_ms: number, limit: number): Promise<ChargeRow[]>;
  /**
   * What an account's charges spent per quarter hour (SPEND_BUCKET_MS), per scope and kind, in
   * buckets starting at or after `from_ms`. insertCharge keeps them, in the charge's transaction.
   */
  listSpendBuckets(account_id: string, from_ms: number): Promise<SpendBucketRow[]>;
  /** The same buckets summed per scope and kind, in the database: what a limit from `from_ms` on reads. */
  sumSpendBuckets(account_id: string, from_ms: number): Promise<Omit<SpendBucketRow, 'start_ms'>[]>;
}

/** What an account's charges of one scope spent of one kind in one quarter hour: what limits sum. */
export interface SpendBucketRow {
  account_id: string;
  /** The quarter hour's start (a multiple of SPEND_BUCKET_MS). */
  start_ms: number;
  operation: string;
  member: string | null;
  project: string | null;
  api_key_id: string | null;
  kind: string;
  spent_micros: bigint;
}

/** A payout to a creator of what they earned (SPEC C10). */
export interface CreatorPayoutRow {
  account_id: string;
  id: string;
  amount_micros: bigint;
  /** The amount in money at the credit value when it was paid. */
  currency: string;
  amount_minor: bigint;
  /** Paid in money outside Tally, or as a grant of creators.earnings_kind to the creator. */
  paid_as: 'money' | 'credits';
  grant_id: string | null;
  reference: string | null;
  /** Only earnings of charges before this instant (now − the hold) could be paid out. */
  earned_before_ms: number;
  created_at_ms: number;
}

/** What a creator earned, summed over their charges: the share booked and what refunds took back. */
export interface CreatorEarningsSum {
  share_micros: bigint;
  reversed_micros: bigint;
}

/** Creators' earnings (read from the charges that name them) and their payouts. */
export interface CreatorStore {
  /**
   * The creator's charges created in [from_ms, to_ms), oldest first by (created_at_ms, id), at
   * most `limit`, after the charge `after` when given.
   */
  listCreatorCharges(
    creator_id: string,
    range: { from_ms: number; to_ms: number },
    page: { limit: number; after?: { created_at_ms: number; id: string } | undefined },
  ): Promise<ChargeRow[]>;
  /** The sums over the creator's charges created before `before_ms`. */
  sumCreatorEarnings(creator_id: string, before_ms: number): Promise<CreatorEarningsSum>;
  insertCreatorPayout(row: CreatorPayoutRow): Promise<void>;
  /** Newest first. */
  listCreatorPayouts(creator_id: string, limit: number): Promise<CreatorPayoutRow[]>;
  sumCreatorPayouts(creator_id: string): Promise<bigint>;
  /** Accounts that earned as creators, in id order, after `after`. */
  listCreators(page: { after?: string | undefined; limit: number }): Promise<string[]>;
}

export type TeamRole = 'owner' | 'admin' | 'member';

/** A user account's membership of a team account (SPEC C11). */
export interface TeamMemberRow {
  /** The team. */
  account_id: string;
  member_id: string;
  role: TeamRole;
  created_at_ms: number;
  updated_at_ms: number;
}

/** Teams' members. */
export interface TeamStore {
  getTeamMember(team_id: string, member_id: string): Promise<TeamMemberRow | undefined>;
  /** Inserts or updates (role, updated_at) a membership. */
  putTeamMember(row: TeamMemberRow): Promise<void>;
  deleteTeamMember(team_id: string, member_id: string): Promise<void>;
  /** In member id order. */
  listTeamMembers(team_id: string): Promise<TeamMemberRow[]>;
  /** The teams a user belongs to. */
  listTeamsOf(member_id: string): Promise<TeamMemberRow[]>;
}

/** Credits restored to an account for charges that went wrong (SPEC C13). */
export interface CompensationRow {
  account_id: string;
  id: string;
  grant_id: string;
  amount_micros: bigint;
  /** What each charge had back of this compensation; empty for a goodwill amount. */
  parts: { charge_id: string; amount_micros: bigint }[];
  reason: string;
  created_at_ms: number;
}

/** A platform incident: runs in [from_ms, to_ms) of its operations (all when null). */
export interface IncidentRow {
  id: string;
  from_ms: number;
  to_ms: number;
  operations: string[] | null;
  note: string;
  created_at_ms: number;
}

/** Compensations and the incidents support reviews runs against. */
export interface SupportStore {
  insertCompensation(row: CompensationRow): Promise<void>;
  /** Oldest first. */
  listCompensations(account_id: string): Promise<CompensationRow[]>;
  insertIncident(row: IncidentRow): Promise<void>;
  /** Incidents overlapping [from_ms, to_ms), oldest first. */
  listIncidents(range: { from_ms: number; to_ms: number }): Promise<IncidentRow[]>;
}

/** Credits an expired grant lost (breakage), as analytics reads them. */
export interface ExpiredCreditsRow {
  account_id: string;
  kind: string;
  /** When the grant expired. */
  closed_at_ms: number;
  amount_micros: bigint;
  /** The account's plan now (null without a subscription). */
  plan_id: string | null;
}

/** Reads across every account, for the operator's analytics (SPEC C16). */
export interface AnalyticsStore {
  /** Credits lost by grants that expired in [from_ms, to_ms), at most `limit` grants. */
  listExpiredCredits(range: { from_ms: number; to_ms: number }, limit: number): Promise<ExpiredCreditsRow[]>;
  /** Every account's charges in [from_ms, to_ms), oldest first by (created_at_ms, id), after `after`. */
  listChargesOfAll(
    range: { from_ms: number; to_ms: number },
    page: { limit: number; after?: { created_at_ms: number; id: string } | undefined },
  ): Promise<(ChargeRow & { plan_id: string | null })[]>;
}

/** The journal: each account's hash-chained transactions. */
export interface JournalStore {
  /** Appends a transaction and moves the account's chain head; the head must be where the transaction says it was. */
  appendJournal(transaction: JournalTransaction): Promise<void>;
  /** An account's transactions in sequence order, the page after `after_sequence` (0: from the start). */
  listJournal(
    account_id: string,
    page: { after_sequence: number; limit: number },
  ): Promise<JournalTransaction[]>;
}

/** Idempotency records: each key's first answer. */
export interface IdempotencyStore {
  getIdempotency(scope: string, key: string): Promise<IdempotencyRow | undefined>;
  /** Claims the key with its first answer; IdempotencyKeyTaken (at commit, where writes wait for it) if it was taken. */
  insertIdempotency(row: IdempotencyRow): Promise<void>;
}

/** Price book versions. */
export interface PriceBookStore {
  getPriceVersion(version: number): Promise<PriceVersionRow | undefined>;
  /** Versions in order, the page after `after_version` (0: from the first). */
  listPriceVersions(page: { after_version: number; limit: number }): Promise<PriceVersionRow[]>;
  /** The highest version whose effective time is at or before `now_ms`. */
  getPriceVersionInForce(now_ms: number): Promise<PriceVersionRow | undefined>;
  /** The highest version published, whatever its effective time. */
  getLatestPriceVersion(): Promise<PriceVersionRow | undefined>;
  insertPriceVersion(row: PriceVersionRow): Promise<void>;
}

/** Secret API keys, stored as hashes. */
export interface ApiKeyStore {
  insertApiKey(row: ApiKeyRow): Promise<void>;
  getApiKeyByHash(secret_hash: string): Promise<ApiKeyRow | undefined>;
  /** Keys in creation order, the page after the key `after` (unset: from the first). */
  listApiKeys(page: { after?: string | undefined; limit: number }): Promise<ApiKeyRow[]>;
  /** Marks a key revoked, once: a second revocation keeps the first time and says so. */
  revokeApiKey(id: string, revoked_at_ms: number): Promise<'revoked' | 'already_revoked' | 'not_found'>;
}

export interface ProxyKeyRow {
  id: string;
  account_id: string;
  secret_hash: string;
  /** The first characters of the secret, so people can tell their keys apart. */
  secret_prefix: string;
  name: string;
  created_at_ms: number;
  revoked_at_ms: number | null;
}

/** Keys an account's end user calls the metering proxy with, stored as hashes. */
export interface ProxyKeyStore {
  insertProxyKey(row: ProxyKeyRow): Promise<void>;
  getProxyKeyByHash(secret_hash: string): Promise<ProxyKeyRow | undefined>;
  getProxyKey(id: string): Promise<ProxyKeyRow | undefined>;
  /** An account's keys in creation order, the page after the key `after`. */
  listProxyKeys(
    account_id: string,
    page: { after?: string | undefined; limit: number },
  ): Promise<ProxyKeyRow[]>;
  /** Marks a key revoked, once: a second revocation keeps the first time and says so. */
  revokeProxyKey(id: string, revoked_at_ms: number): Promise<'revoked' | 'already_revoked' | 'not_found'>;
}

/** Customer token revocations (tokens themselves are signed, not stored). */
export interface CustomerTokenStore {
  /**
   * Revokes every customer token of an account, or minted by a key, issued at or before
   * `revoked_at_ms` (a later revocation moves the time on, never back).
   */
  revokeCustomerTokens(scope: 'account' | 'key', subject: string, revoked_at_ms: number): Promise<void>;
  /** The revocation times that bear on a token of `account` minted by `key_id` (null: none). */
  customerTokenRevocations(
    account: string,
    key_id: string | null,
  ): Promise<{ account_ms: number | null; key_ms: number | null }>;
}

/** Secrets of the server (the customer token signing key). */
export interface ServerSecretStore {
  getServerSecret(name: string): Promise<string | undefined>;
  /** Stores a secret unless one of that name exists; returns the one stored. */
  putServerSecretOnce(name: string, value: string, created_at_ms: number): Promise<string>;
}

/** The configuration a database was last opened with: its document, and where it was read from. */
export interface StoredConfiguration {
  document: unknown;
  /** The file it came from (a path, a preset name), or null when it was given as an object. */
  source: string | null;
  stored_at_ms: number;
}

/** The configuration stored with the data, so a database can be opened without naming it again. */
export interface ConfigurationStore {
  getStoredConfiguration(): Promise<StoredConfiguration | undefined>;
  putStoredConfiguration(configuration: StoredConfiguration): Promise<void>;
}

export type PurchaseStatus = 'pending' | 'paid' | 'failed' | 'expired' | 'refunded' | 'partially_refunded';

/** The pack as it was sold: a purchase keeps the terms it was shown, whatever the configuration says later. */
export interface PurchaseTerms {
  pack_name: string;
  kind: string;
  expires_after_days: number | null;
  bonus_kind: string | null;
  bonus_expires_after_days: number | null;
  refund_policy: 'clamp' | 'debt';
  /** The price of each pack, in minor units, at the purchase's volume tier. */
  each_minor: string;
  /** The test provider only: how its payment plays out (schema/commands.ts TEST_CARDS). */
  test_card?: string;
}

export interface PurchaseRefund {
  id: string;
  amount_minor: bigint;
  /** Credits taken back of what the purchase's grants had left. */
  clawed_back_micros: bigint;
  /** Credits already spent, recorded as debt (refund policy `debt`). */
  debt_micros: bigint;
  reason: string;
  /** The provider's refund id, when the provider refunded it. */
  provider_refund_id: string | null;
  at_ms: number;
}

export interface PurchaseRow {
  account_id: string;
  id: string;
  pack_id: string;
  quantity: number;
  terms: PurchaseTerms;
  /** Credits the purchase gives (quantity × the pack's), and its bonus. */
  credits_micros: bigint;
  bonus_micros: bigint;
  currency: string;
  amount_minor: bigint;
  provider: 'test' | 'manual' | 'stripe';
  status: PurchaseStatus;
  /** Started by auto-recharge rather than by the customer. */
  auto_recharge: boolean;
  /** The provider's session (a Stripe Checkout Session) and where the customer pays, once recorded. */
  checkout_session_id: string | null;
  checkout_url: string | null;
  /** The provider's payment id: granting is idempotent on it. */
  payment_id: string | null;
  grant_id: string | null;
  bonus_grant_id: string | null;
  refunds: PurchaseRefund[];
  /** Why it failed; what the operator's confirmation said. */
  failure: string | null;
  reference: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  /** When the provider was asked to take the money; null until then. */
  started_at_ms: number | null;
  paid_at_ms: number | null;
  /** A pending purchase not paid by then expires. */
  expires_at_ms: number;
}

/** A payment provider's event, kept once per event id (the inbox). */
export interface ProviderEventRow {
  provider: string;
  id: string;
  type: string;
  /** A hash of the event's body: the same id with another body is a replay attempt, refused. */
  body_hash: string;
  purchase_id: string | null;
  /** What Tally made of it: applied, ignored (nothing to do), or unmatched (no such purchase). */
  outcome: 'applied' | 'ignored' | 'unmatched';
  received_at_ms: number;
}

export interface AutoRechargeRow {
  account_id: string;
  enabled: boolean;
  threshold_micros: bigint;
  /** The pack it buys; null: the smallest that brings the balance back above the threshold. */
  pack_id: string | null;
  currency: string;
  /** The most credits it may buy in the account's calendar month; null for no ceiling. */
  monthly_max_micros: bigint | null;
  /** `paused`: a payment needs the customer's action; `disabled`: it failed and stopped. */
  status: 'active' | 'paused' | 'disabled';
  status_reason: string | null;
  /** The one recharge in flight, if any: no second starts while it is set. */
  in_flight_purchase_id: string | null;
  failures_in_row: number;
  /** Held back by the monthly ceiling: when the next month starts and it may buy again. */
  resume_at_ms: number | null;
  updated_at_ms: number;
}

/** Purchases, the provider-event inbox and auto-recharge settings. */
export interface PurchaseStore {
  insertPurchase(row: PurchaseRow): Promise<void>;
  getPurchase(id: string): Promise<PurchaseRow | undefined>;
  getPurchaseByCheckoutSession(session_id: string): Promise<PurchaseRow | undefined>;
  getPurchaseByPayment(payment_id: string): Promise<PurchaseRow | undefined>;
  /** Writes every field but the account, pack, quantity, terms and amounts. */
  updatePurchase(row: PurchaseRow): Promise<void>;
  /** An account's purchases newest first, the page before the purchase `before`. */
  listPurchases(
    account_id: string,
    page: { before?: string | undefined; limit: number },
  ): Promise<PurchaseRow[]>;
  /** Every account's purchases newest first (the console), optionally of one status. */
  listAllPurchases(page: {
    before?: string | undefined;
    limit: number;
    status?: PurchaseStatus | undefined;
  }): Promise<PurchaseRow[]>;
  /** Pending purchases that no provider was asked about yet, or whose time ran out at `now_ms`. */
  listPurchasesToProcess(now_ms: number, limit: number): Promise<PurchaseRow[]>;
  /** Credits of the account's auto-recharge purchases created at or after `since_ms`, not failed or expired. */
  sumAutoRechargeMicros(account_id: string, since_ms: number): Promise<bigint>;
  /** Records a provider event once: a second event of the same provider and id changes nothing. */
  insertProviderEvent(row: ProviderEventRow): Promise<void>;
  getProviderEvent(provider: string, id: string): Promise<ProviderEventRow | undefined>;
  /** The inbox, newest first. */
  listProviderEvents(page: { limit: number }): Promise<ProviderEventRow[]>;
  getAutoRecharge(account_id: string): Promise<AutoRechargeRow | undefined>;
  putAutoRecharge(row: AutoRechargeRow): Promise<void>;
  /** Accounts whose auto-recharge the monthly ceiling held back until `now_ms` or before. */
  listAutoRechargesResuming(now_ms: number, limit: number): Promise<string[]>;
}

/** Accounts with work due. */
export interface DueWorkStore {
  /**
   * Accounts with work due at `now_ms`: reservations held past their TTL, open grants past their
   * expiry, or grants expiring before `expiring_before_ms` that have not been announced.
   */
  listAccountsWithDueWork(now_ms: number, expiring_before_ms: number, limit: number): Promise<string[]>;
}

/** Allowance schedules and the grants they issued. */
export interface AllowanceStore {
  listAllowanceSchedules(account_id: string): Promise<AllowanceScheduleRow[]>;
  putAllowanceSchedule(row: AllowanceScheduleRow): Promise<void>;
  deleteAllowanceSchedule(account_id: string, allowance_id: string): Promise<void>;
  /** The grant an allowance issued for a period, if any. */
  getAllowanceGrant(
    account_id: string,
    allowance_id: string,
    period_start_ms: number,
  ): Promise<GrantRow | undefined>;
}

/** Subscriptions. */
export interface SubscriptionStore {
  getSubscription(account_id: string): Promise<SubscriptionRow | undefined>;
  putSubscription(row: SubscriptionRow): Promise<void>;
}

/** Account limits, and the window in which each was last reached. */
export interface LimitStore {
  listAccountLimits(account_id: string): Promise<AccountLimitRow[]>;
  putAccountLimit(row: AccountLimitRow): Promise<void>;
  /** Removes the limit of the row's account, setter and id (nothing when there is none). */
  deleteAccountLimit(row: AccountLimitRow): Promise<void>;
  getLimitReachedWindow(account_id: string, limit_id: string): Promise<number | undefined>;
  putLimitReachedWindow(account_id: string, limit_id: string, window_start_ms: number): Promise<void>;
}

/** The audit log of operator actions. */
export interface AuditStore {
  insertAudit(row: AuditRow): Promise<void>;
  /** The newest entries first, before the `before` id; optionally of one account. */
  listAudit(filter: { account_id?: string; before?: string }, limit: number): Promise<AuditRow[]>;
}

/** Events: the outbox. */
export interface EventStore {
  insertEvent(row: EventRow): Promise<void>;
  getEvent(id: string): Promise<EventRow | undefined>;
  /** Events newest last, after the `after` id; optionally of one account and one type. */
  listEvents(
    filter: { account_id?: string; type?: string; after?: string },
    limit: number,
  ): Promise<EventRow[]>;
  /** Events not yet fanned out to webhook endpoints, oldest first. */
  listUndispatchedEvents(limit: number): Promise<EventRow[]>;
  markEventsDispatched(ids: readonly string[]): Promise<void>;
}

/** Webhook endpoints, deliveries and their attempts. */
export interface WebhookStore {
  insertWebhookEndpoint(row: WebhookEndpointRow): Promise<void>;
  /** Every endpoint in creation order: there are at most WEBHOOK_ENDPOINTS_MAX. */
  listWebhookEndpoints(): Promise<WebhookEndpointRow[]>;
  getWebhookEndpoint(id: string): Promise<WebhookEndpointRow | undefined>;
  insertWebhookDelivery(row: WebhookDeliveryRow): Promise<void>;
  getWebhookDelivery(id: string): Promise<WebhookDeliveryRow | undefined>;
  /** Writes status, attempts, next_attempt_at and completed_at. */
  updateWebhookDelivery(row: WebhookDeliveryRow): Promise<void>;
  /**
   * Claims due deliveries no live lease holds, for `owner` until `lease_until_ms`: two workers
   * never claim the same delivery, and a delivery whose worker died is claimed again once its
   * lease has lapsed.
   */
  claimDueWebhookDeliveries(
    now_ms: number,
    owner: string,
    lease_until_ms: number,
    limit: number,
  ): Promise<WebhookDeliveryRow[]>;
  /** Writes a delivery's outcome if `owner` still holds its lease; false when the lease was lost. */
  completeWebhookDelivery(row: WebhookDeliveryRow, owner: string): Promise<boolean>;
  /** An endpoint's deliveries newest first, the page before the delivery `before` (unset: the newest). */
  listWebhookDeliveries(
    endpoint_id: string,
    page: { before?: string | undefined; limit: number },
  ): Promise<WebhookDeliveryRow[]>;
  insertWebhookAttempt(row: WebhookAttemptRow): Promise<void>;
  listWebhookAttempts(delivery_id: string): Promise<WebhookAttemptRow[]>;
}

/**
 * What a command may do inside one store transaction: every capability's part of the store. A
 * new capability adds an interface of its own here (and its part of the contract suite), rather
 * than growing one long list.
 */
export interface StoreTransaction
  extends AccountStore,
    GrantStore,
    ReservationStore,
    ChargeStore,
    JournalStore,
    IdempotencyStore,
    PriceBookStore,
    ApiKeyStore,
    ProxyKeyStore,
    CustomerTokenStore,
    ServerSecretStore,
    ConfigurationStore,
    DueWorkStore,
    AllowanceStore,
    SubscriptionStore,
    LimitStore,
    AuditStore,
    EventStore,
    WebhookStore,
    PurchaseStore,
    CreatorStore,
    TeamStore,
    SupportStore,
    AnalyticsStore {}

/** What a command tells the store ahead of running, so it can batch it well. */
export interface CommandHint {
  /** The account the command works on, where known: a store may apply commands on one account together. */
  account?: string;
}

/**
 * A command claimed an idempotency key that another command committed first (two processes
 * racing on one key, or a replay that did not look before it ran): its transaction is rolled
 * back, and the service answers it from the record the other one left.
 */
export class IdempotencyKeyTaken extends Error {
  constructor(message: string) {
    super(`idempotency key taken: ${message}`);
    this.name = 'IdempotencyKeyTaken';
  }
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Whether writes wait to be sent with the COMMIT (PostgreSQL): then an idempotency key is
   * best claimed with them, at no round trip of its own, rather than looked up before the command.
   */
  readonly writes_wait_for_commit: boolean;
  /** Transactions committed for groups of commands so far: with group commit, fewer than the commands. */
  readonly groups_committed: number;
  /** Runs `work` in one read-write transaction; a throw rolls everything back. */
  transaction<Result>(
    work: (transaction: StoreTransaction) => Promise<Result>,
    hint?: CommandHint,
  ): Promise<Result>;
  /** Runs `work` against one consistent snapshot, writing nothing. */
  read<Result>(work: (transaction: StoreTransaction) => Promise<Result>): Promise<Result>;
  close(): Promise<void>;
}
