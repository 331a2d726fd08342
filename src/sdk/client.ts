/**
 * The typed TypeScript client of the HTTP API. Request types come from the same zod schemas the
 * server validates with, response types from the same views it answers with. A refusal rejects
 * with a `TallyApiError` carrying the problem document's `code` (one of docs/errors.md).
 */

import type { z } from 'zod';
import type { ResultCode } from '../domain/results.ts';
import type { Problem } from '../http/problem.ts';
import type { compensationAnswer, incidentAnswer } from '../schema/answers.ts';
import type {
  AutoRechargeInput,
  ChargeInput,
  CompensationInput,
  CreatePurchaseInput,
  EarningsInput,
  EstimateInput,
  IncidentInput,
  IssueGrantInput,
  LimitInput,
  ListChargesInput,
  MemberInput,
  PayoutInput,
  PlanOverridesInput,
  PutAccountInput,
  RefundInput,
  ReleaseInput,
  ReserveInput,
  RevokeGrantInput,
  SettleInput,
  SubscriptionInput,
  UsageInput,
} from '../schema/commands.ts';
import type { PriceBookInput } from '../schema/config.ts';
import type { ApiKeyView } from '../service/access.ts';
import type { EarningsView } from '../service/creators/statements.ts';
import type { EstimateView, RemainingView } from '../service/estimates.ts';
import type { UsageView } from '../service/history.ts';
import type { LimitView } from '../service/limits.ts';
import type {
  AutoRechargeView,
  PackListView,
  ProviderEventView,
  PurchaseView,
} from '../service/payments/views.ts';
import type { PlanView } from '../service/plan-view.ts';
import type { PriceTableView } from '../service/price-table.ts';
import type { BreakageView, EffectiveCostView } from '../service/reads/analytics.ts';
import type { CreatorSummaryView } from '../service/reads/creators.ts';
import type { ThreadReviewView } from '../service/reads/support.ts';
import type { SubscriptionChange, SubscriptionView } from '../service/subscriptions.ts';
import type { AuditView, BalanceView, RefundView } from '../service/tally.ts';
import type { MemberView } from '../service/teams.ts';

type CompensationView = z.infer<typeof compensationAnswer>;
type IncidentView = z.infer<typeof incidentAnswer>;

import type { AccountView, ChargeView, GrantView, PayoutView, ReservationView } from '../service/views.ts';
import type { DeliveryView, EndpointView, EventView } from '../service/webhooks.ts';

export class TallyApiError extends Error {
  readonly code: ResultCode | 'internal_error';
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.code}: ${problem.detail}`);
    this.name = 'TallyApiError';
    this.code = problem.code;
    this.status = problem.status;
    this.problem = problem;
  }
}

export interface Page<Item> {
  data: Item[];
  next_cursor: string | null;
}

export interface WriteOptions {
  idempotency_key?: string;
}

type Query = Record<string, string | number | undefined>;

export interface TallyClientOptions {
  /** Where the API is, e.g. http://127.0.0.1:8787. */
  url: string;
  /** A secret key (sk_…) or a customer token (ct_…). */
  credential?: string;
  fetch?: typeof fetch;
}

/** Where a page starts (the last page's next_cursor) and how long it is. */
export type PageQuery = {
  cursor?: string;
  limit?: number;
};

export class TallyClient {
  private readonly url: string;
  private readonly credential: string | undefined;
  private readonly fetcher: typeof fetch;

  constructor(options: TallyClientOptions) {
    this.url = options.url.replace(/\/$/, '');
    this.credential = options.credential;
    // Browsers refuse a fetch called as a method of another object: bind it to the global one.
    this.fetcher = options.fetch ?? fetch.bind(globalThis);
  }

  /** The same client acting with another key or token. */
  as(credential: string): TallyClient {
    return new TallyClient({ url: this.url, credential, fetch: this.fetcher });
  }

  private async send(
    method: string,
    path: string,
    request: { body?: unknown; query?: Query; options?: WriteOptions } = {},
  ) {
    const query = Object.entries(request.query ?? {}).filter(([, value]) => value !== undefined);
    const search = query.length
      ? `?${new URLSearchParams(query.map(([key, value]): [string, string] => [key, String(value)]))}`
      : '';
    const response = await this.fetcher(`${this.url}${path}${search}`, {
      method,
      headers: {
        ...(this.credential ? { authorization: `Bearer ${this.credential}` } : {}),
        ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(request.options?.idempotency_key ? { 'idempotency-key': request.options.idempotency_key } : {}),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    });
    if (!response.ok) {
      const text = await response.text();
      let problem: Problem;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = {
          type: 'about:blank',
          title: response.statusText,
          status: response.status,
          code: 'internal_error',
          detail: text,
        };
      }
      throw new TallyApiError(problem);
    }
    return response;
  }

  private async json<Result>(
    method: string,
    path: string,
    request: Parameters<TallyClient['send']>[2] = {},
  ): Promise<Result> {
    return (await (await this.send(method, path, request)).json()) as Result;
  }

  private static path(template: string, ...ids: string[]): string {
    let index = 0;
    return template.replace(/\{\w+\}/g, () => encodeURIComponent(ids[index++]!));
  }

  // meta and prices
  health = () => this.json<{ ok: true }>('GET', '/healthz');
  prices = () => this.json<PriceTableView>('GET', '/v1/prices');
  priceVersion = (version: number) => this.json<PriceTableView>('GET', `/v1/price-book/versions/${version}`);
  publishPriceBook = (body: PriceBookInput, options?: WriteOptions) =>
    this.json<PriceTableView>('POST', '/v1/price-book/versions', { body, options });

  // accounts and grants
  accounts = (query: { prefix?: string; cursor?: string; limit?: number } = {}) =>
    this.json<Page<AccountView>>('GET', '/v1/accounts', { query });
  reservations = (account: string, query: { cursor?: string; limit?: number } = {}) =>
    this.json<Page<ReservationView>>('GET', TallyClient.path('/v1/accounts/{id}/reservations', account), {
      query,
    });
  setSettings = (account: string, body: { low_balance_threshold?: string | null }, options?: WriteOptions) =>
    this.json<AccountView>('PUT', TallyClient.path('/v1/accounts/{id}/settings', account), { body, options });
  putAccount = (id: string, body: Omit<PutAccountInput, 'id'>) =>
    this.json<AccountView>('PUT', TallyClient.path('/v1/accounts/{id}', id), { body });
  account = (id: string) =>
    this.json<AccountView & { subscription: SubscriptionView | null }>(
      'GET',
      TallyClient.path('/v1/accounts/{id}', id),
    );
  balance = (id: string) => this.json<BalanceView>('GET', TallyClient.path('/v1/accounts/{id}/balance', id));
  remaining = (id: string) =>
    this.json<RemainingView>('GET', TallyClient.path('/v1/accounts/{id}/remaining', id));
  grants = (id: string, query: { status?: string; cursor?: string; limit?: number } = {}) =>
    this.json<Page<GrantView>>('GET', TallyClient.path('/v1/accounts/{id}/grants', id), { query });
  issueGrant = (account: string, body: Omit<IssueGrantInput, 'account'>, options?: WriteOptions) =>
    this.json<GrantView>('POST', TallyClient.path('/v1/accounts/{id}/grants', account), { body, options });
  revokeGrant = (grant: string, body: Omit<RevokeGrantInput, 'grant'>, options?: WriteOptions) =>
    this.json<GrantView>('POST', TallyClient.path('/v1/grants/{id}/revoke', grant), { body, options });
  /** Revokes every customer token of the account minted until now. */
  revokeCustomerTokens = (account: string) =>
    this.json<{ account: string; revoked_before: string }>(
      'POST',
      TallyClient.path('/v1/accounts/{id}/tokens/revoke', account),
    );
  /** A customer token for the account; on a team, `member` makes it a member's (their own runs only). */
  customerToken = (account: string, body: { ttl_seconds?: number; member?: string } = {}) =>
    this.json<{ token: string; account: string; member: string | null; expires_at: string }>(
      'POST',
      TallyClient.path('/v1/accounts/{id}/tokens', account),
      {
        body,
      },
    );

  // plans, subscriptions and limits
  plans = () => this.json<Page<PlanView>>('GET', '/v1/plans');
  subscription = (account: string) =>
    this.json<SubscriptionView | null>('GET', TallyClient.path('/v1/accounts/{id}/subscription', account));
  subscribe = (account: string, body: Omit<SubscriptionInput, 'account'>, options?: WriteOptions) =>
    this.json<SubscriptionChange>('PUT', TallyClient.path('/v1/accounts/{id}/subscription', account), {
      body,
      options,
    });
  cancelSubscription = (account: string, options?: WriteOptions) =>
    this.json<SubscriptionView>('DELETE', TallyClient.path('/v1/accounts/{id}/subscription', account), {
      options,
    });
  limits = (account: string) =>
    this.json<Page<LimitView>>('GET', TallyClient.path('/v1/accounts/{id}/limits', account));
  putLimit = (
    account: string,
    limit: string,
    body: Omit<LimitInput, 'account' | 'id'>,
    options?: WriteOptions,
  ) =>
    this.json<LimitView>('PUT', TallyClient.path('/v1/accounts/{id}/limits/{limit_id}', account, limit), {
      body,
      options,
    });

  // packs and purchases
  /** Credit packs with their unit prices and discounts (public). */
  packs = () => this.json<PackListView>('GET', '/v1/packs');
  /** Buys a pack for an account (a customer token: its own): paid at once, or pending at checkout_url. */
  purchase = (body: CreatePurchaseInput, options?: WriteOptions) =>
    this.json<PurchaseView>('POST', '/v1/purchases', { body, options });
  getPurchase = (id: string) => this.json<PurchaseView>('GET', TallyClient.path('/v1/purchases/{id}', id));
  accountPurchases = (account: string, query: { cursor?: string; limit?: number } = {}) =>
    this.json<Page<PurchaseView>>('GET', TallyClient.path('/v1/accounts/{id}/purchases', account), { query });
  /** Every account's purchases (the console), optionally of one status. */
  allPurchases = (query: { status?: string; cursor?: string; limit?: number } = {}) =>
    this.json<Page<PurchaseView>>('GET', '/v1/purchases', { query });
  /** An operator's confirmation that a manual purchase was paid. */
  confirmPurchase = (id: string, body: { reference?: string } = {}, options?: WriteOptions) =>
    this.json<PurchaseView>('POST', TallyClient.path('/v1/purchases/{id}/confirm', id), { body, options });
  refundPurchase = (id: string, body: { amount?: string; reason: string }, options?: WriteOptions) =>
    this.json<PurchaseView>('POST', TallyClient.path('/v1/purchases/{id}/refund', id), { body, options });
  autoRecharge = (account: string) =>
    this.json<AutoRechargeView | null>('GET', TallyClient.path('/v1/accounts/{id}/auto-recharge', account));
  setAutoRecharge = (account: string, body: Omit<AutoRechargeInput, 'account'>, options?: WriteOptions) =>
    this.json<AutoRechargeView>('PUT', TallyClient.path('/v1/accounts/{id}/auto-recharge', account), {
      body,
      options,
    });
  /** The payment providers' events as received (the inbox). */
  providerEvents = () => this.json<Page<ProviderEventView>>('GET', '/v1/providers/events');

  /** A custom plan for one account (admin key): allowances, limits, entitlements, price factors. */
  putPlanOverrides = (account: string, body: Omit<PlanOverridesInput, 'account'>, options?: WriteOptions) =>
    this.json<SubscriptionView>('PUT', TallyClient.path('/v1/accounts/{id}/plan-overrides', account), {
      body,
      options,
    });

  // test clock (servers started with --test-clock)
  clock = () => this.json<{ now: string }>('GET', '/v1/test/clock');
  /** Moves the server's clock forward (never back) and runs every job that came due. */
  moveClock = (body: { now: string } | { advance_seconds: number }, options?: WriteOptions) =>
    this.json<{ now: string }>('POST', '/v1/test/clock', { body, options });

  // analytics
  breakage = (query: { from?: string; to?: string; group_by?: 'kind' | 'plan' | 'month' } = {}) =>
    this.json<BreakageView>('GET', '/v1/analytics/breakage', { query });
  effectiveCost = (query: { from?: string; to?: string; group_by?: 'operation' | 'plan' | 'project' } = {}) =>
    this.json<EffectiveCostView>('GET', '/v1/analytics/effective-cost', { query });

  // support
  /** A thread's charges flagged (loops, cycles, failures, outliers, incidents), with the compensation proposed. */
  threadReview = (thread: string, account: string) =>
    this.json<ThreadReviewView>('GET', TallyClient.path('/v1/threads/{thread}/review', thread), {
      query: { account },
    });
  compensate = (account: string, body: Omit<CompensationInput, 'account'>, options?: WriteOptions) =>
    this.json<CompensationView>('POST', TallyClient.path('/v1/accounts/{id}/compensations', account), {
      body,
      options,
    });
  recordIncident = (body: IncidentInput, options?: WriteOptions) =>
    this.json<IncidentView>('POST', '/v1/incidents', { body, options });
  incidents = () => this.json<{ data: IncidentView[] }>('GET', '/v1/incidents');

  // teams
  /** Adds a user to a team or changes their role and own limits (write key). */
  putMember = (
    team: string,
    member: string,
    body: Omit<MemberInput, 'team' | 'member'>,
    options?: WriteOptions,
  ) =>
    this.json<MemberView>('PUT', TallyClient.path('/v1/accounts/{id}/members/{member}', team, member), {
      body,
      options,
    });
  removeMember = (team: string, member: string, options?: WriteOptions) =>
    this.json<MemberView & { removed: true }>(
      'DELETE',
      TallyClient.path('/v1/accounts/{id}/members/{member}', team, member),
      { options },
    );
  members = (team: string) =>
    this.json<{ data: MemberView[] }>('GET', TallyClient.path('/v1/accounts/{id}/members', team));
  /** The teams a user belongs to. */
  teamsOf = (account: string) =>
    this.json<{ data: MemberView[] }>('GET', TallyClient.path('/v1/accounts/{id}/teams', account));

  // creators
  /** Every account that earned as a creator, with net, payable and paid (the console). */
  creators = (query: { cursor?: string; limit?: number } = {}) =>
    this.json<Page<CreatorSummaryView>>('GET', '/v1/creators', { query });
  /** A creator's statement (a customer token: its own): by day, prompt or app, and what is payable. */
  earnings = (creator: string, query: Omit<EarningsInput, 'creator'> = {}) =>
    this.json<EarningsView>('GET', TallyClient.path('/v1/creators/{id}/earnings', creator), {
      query: query as Query,
    });
  /** The statement as CSV (RFC 4180). */
  earningsCsv = async (creator: string, query: Omit<EarningsInput, 'creator'> = {}) =>
    (
      await this.send('GET', TallyClient.path('/v1/creators/{id}/earnings', creator), {
        query: { ...(query as Query), format: 'csv' },
      })
    ).text();
  payouts = (creator: string) =>
    this.json<Page<PayoutView>>('GET', TallyClient.path('/v1/creators/{id}/payouts', creator));
  /** Records a payout of at most what is payable (admin key). */
  payout = (creator: string, body: Omit<PayoutInput, 'creator'>, options?: WriteOptions) =>
    this.json<PayoutView>('POST', TallyClient.path('/v1/creators/{id}/payouts', creator), { body, options });

  // runs
  estimate = (body: EstimateInput) => this.json<EstimateView>('POST', '/v1/estimates', { body });
  reserve = (body: ReserveInput, options?: WriteOptions) =>
    this.json<ReservationView>('POST', '/v1/reservations', { body, options });
  reservation = (id: string) =>
    this.json<ReservationView>('GET', TallyClient.path('/v1/reservations/{id}', id));
  settle = (id: string, body: Omit<SettleInput, 'reservation'>, options?: WriteOptions) =>
    this.json<ChargeView>('POST', TallyClient.path('/v1/reservations/{id}/settle', id), { body, options });
  release = (id: string, body: Omit<ReleaseInput, 'reservation'> = {}, options?: WriteOptions) =>
    this.json<ReservationView>('POST', TallyClient.path('/v1/reservations/{id}/release', id), {
      body,
      options,
    });
  charge = (body: ChargeInput, options?: WriteOptions) =>
    this.json<ChargeView>('POST', '/v1/charges', { body, options });
  getCharge = (id: string) => this.json<ChargeView>('GET', TallyClient.path('/v1/charges/{id}', id));
  refund = (charge: string, body: Omit<RefundInput, 'charge'>, options?: WriteOptions) =>
    this.json<RefundView>('POST', TallyClient.path('/v1/charges/{id}/refund', charge), { body, options });

  // history and events
  charges = (query: ListChargesInput) =>
    this.json<Page<ChargeView>>('GET', '/v1/charges', { query: query as Query });
  chargesCsv = async (query: Omit<ListChargesInput, 'limit' | 'cursor'>) =>
    (await this.send('GET', '/v1/charges', { query: { ...(query as Query), format: 'csv' } })).text();
  usage = (account: string, query: Omit<UsageInput, 'account'> = {}) =>
    this.json<UsageView>('GET', TallyClient.path('/v1/accounts/{id}/usage', account), {
      query: query as Query,
    });
  events = (query: { account?: string; type?: string; cursor?: string; limit?: number } = {}) =>
    this.json<Page<EventView>>('GET', '/v1/events', { query });

  // operators
  audit = (query: { account?: string; cursor?: string; limit?: number } = {}) =>
    this.json<Page<AuditView>>('GET', '/v1/audit', { query });
  priceVersions = (query: PageQuery = {}) =>
    this.json<Page<{ version: number; effective_at: string; published_at: string }>>(
      'GET',
      '/v1/price-book/versions',
      { query },
    );
  keys = (query: PageQuery = {}) => this.json<Page<ApiKeyView>>('GET', '/v1/keys', { query });
  createKey = (body: { scope: 'admin' | 'write' | 'read'; name: string }) =>
    this.json<ApiKeyView & { secret: string }>('POST', '/v1/keys', { body });
  revokeKey = (id: string) =>
    this.json<{ id: string; revoked: true }>('POST', TallyClient.path('/v1/keys/{id}/revoke', id));
  createWebhookEndpoint = (body: { url: string; events: string[] }) =>
    this.json<EndpointView & { secret: string }>('POST', '/v1/webhook-endpoints', { body });
  webhookEndpoints = () => this.json<Page<EndpointView>>('GET', '/v1/webhook-endpoints');
  webhookDeliveries = (endpoint: string, query: PageQuery = {}) =>
    this.json<Page<DeliveryView>>(
      'GET',
      TallyClient.path('/v1/webhook-endpoints/{id}/deliveries', endpoint),
      {
        query,
      },
    );
  replayDelivery = (delivery: string) =>
    this.json<DeliveryView>('POST', TallyClient.path('/v1/webhook-deliveries/{id}/replay', delivery));
}
