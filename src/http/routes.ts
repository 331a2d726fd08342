/**
 * Every HTTP endpoint, as data: method, path, who may call it, the schema of its body (for the
 * OpenAPI document; the service validates), and a handler that calls the service and returns
 * what it answered. Routes hold no ledger logic (STYLE rule 10).
 */
import { z } from 'zod';
import { IDENTIFIER_LENGTH_MAX, PAGE_SIZE_MAX, TEST_CLOCK_LATEST_MS } from '../domain/limits.ts';
import { type ResultCode, TallyError } from '../domain/results.ts';
import {
  accountSettingsInput,
  chargeInput,
  estimateInput,
  issueGrantInput,
  limitInput,
  listChargesInput,
  listEventsInput,
  putAccountInput,
  refundInput,
  releaseInput,
  reserveInput,
  revokeGrantInput,
  settleInput,
  subscriptionInput,
  usageInput,
  webhookEndpointInput,
} from '../schema/commands.ts';
import { parseInput } from '../schema/parse.ts';
import type { Principal } from '../service/access.ts';
import type { TestClock } from '../service/clock.ts';
import {
  createKeyCommand,
  createKeyInput,
  mintTokenCommand,
  mintTokenInput,
  revokeKeyCommand,
  revokeTokensCommand,
} from '../service/commands/access.ts';
import { accountSettingsCommand, putAccountCommand } from '../service/commands/accounts.ts';
import { issueGrantCommand, revokeGrantCommand } from '../service/commands/grants.ts';
import { cancelSubscriptionCommand, putLimitCommand, subscribeCommand } from '../service/commands/plans.ts';
import { publishPriceBookCommand } from '../service/commands/price-book.ts';
import { refundChargeCommand } from '../service/commands/refunds.ts';
import { chargeCommand, releaseCommand, reserveCommand, settleCommand } from '../service/commands/runs.ts';
import { createEndpointCommand, replayDeliveryCommand } from '../service/commands/webhooks.ts';
import type { CommandOptions, Tally } from '../service/tally.ts';
import type { KeyScope } from '../store/store.ts';
import { chargesCsv } from './csv.ts';

export interface RouteContext {
  tally: Tally;
  test_clock: TestClock | undefined;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  principal: Principal | null;
  /** Idempotency key, caller namespace and replay flag for the command this request runs. */
  options: CommandOptions;
  /**
   * Refuses a customer token reaching another account's data with the very answer a missing id
   * gets (`not_found`, default account_not_found), so a token cannot probe which ids exist.
   */
  ownAccount(account: string | undefined, not_found?: ResultCode): void;
}

export interface RouteDefinition {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI style: `/v1/accounts/{id}`. */
  path: string;
  summary: string;
  tag: string;
  /** `public`, or the least key scope that may call it. */
  access: 'public' | KeyScope;
  /** Whether a customer token may call it (always limited to its own account). */
  customer: boolean;
  /** The request body as the service validates it, minus what the path supplies. */
  body?: z.ZodType;
  /** The query parameters it takes, checked at the edge (unknown ones refused); none if absent. */
  query?: z.ZodType;
  idempotent?: boolean;
  handle(context: RouteContext): Promise<unknown>;
}

/** A body schema without the fields the path gives. */
const without = <Shape extends z.ZodRawShape, Key extends keyof Shape & string>(
  schema: z.ZodObject<Shape>,
  key: Key,
) => schema.omit({ [key]: true } as never);

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new TallyError('invalid_request', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

const listQuery = z.strictObject({
  status: z.enum(['pending', 'active', 'expired', 'revoked']).optional(),
});

/** Query strings carry numbers as text: a page size is coerced, then must be a whole number in range. */
const pageLimit = z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).optional();
const pageQuery = z.strictObject({
  cursor: z
    .string()
    .max(IDENTIFIER_LENGTH_MAX * 2)
    .optional(),
  limit: pageLimit,
});
const accountSearchQuery = z.strictObject({
  prefix: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  cursor: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  limit: pageLimit,
});
const auditQuery = z.strictObject({
  account: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  cursor: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  limit: pageLimit,
});

const clockBody = z.union([
  z.strictObject({
    advance_seconds: z
      .number()
      .int()
      .min(0)
      .max(TEST_CLOCK_LATEST_MS / 1000),
  }),
  z.strictObject({ now: z.iso.datetime({ offset: true }) }),
]);

export const routes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness check',
    tag: 'meta',
    access: 'public',
    customer: true,
    handle: async () => ({ ok: true }),
  },
  {
    method: 'get',
    path: '/v1/prices',
    summary: 'The public price table: credit value and every operation with its rates and an example cost',
    tag: 'prices',
    access: 'public',
    customer: true,
    handle: ({ tally }) => tally.priceTable(),
  },
  {
    method: 'put',
    path: '/v1/accounts/{id}',
    summary: 'Create an account, or update its timezone and metadata',
    tag: 'accounts',
    access: 'write',
    customer: false,
    body: without(putAccountInput, 'id'),
    handle: ({ tally, params, body, options }) =>
      tally.run(putAccountCommand, { ...objectBody(body), id: params.id }, options),
  },
  {
    method: 'get',
    path: '/v1/accounts',
    summary: 'Find accounts by id prefix',
    tag: 'accounts',
    access: 'read',
    customer: false,
    query: accountSearchQuery,
    handle: ({ tally, query }) => tally.searchAccounts(parseInput(accountSearchQuery, query)),
  },
  {
    method: 'put',
    path: '/v1/accounts/{id}/settings',
    summary: 'Settings a customer may change: the low-balance threshold',
    tag: 'accounts',
    access: 'write',
    customer: true,
    body: without(accountSettingsInput, 'account'),
    idempotent: true,
    handle: ({ tally, params, body, options, ownAccount }) => {
      ownAccount(params.id);
      return tally.run(accountSettingsCommand, { ...objectBody(body), account: params.id }, options);
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/reservations',
    summary: "An account's reservations, newest first",
    tag: 'runs',
    access: 'read',
    customer: true,
    query: pageQuery,
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.listReservations(params.id!, parseInput(pageQuery, query));
    },
  },
  {
    method: 'get',
    path: '/v1/audit',
    summary: 'The audit log of operator actions, newest first (metering is in the ledger, not here)',
    tag: 'access',
    access: 'admin',
    customer: false,
    query: auditQuery,
    handle: ({ tally, query }) => tally.listAudit(parseInput(auditQuery, query)),
  },
  {
    method: 'get',
    path: '/v1/price-book/versions',
    summary: 'Every published price book version, with when it takes effect',
    tag: 'prices',
    access: 'public',
    customer: true,
    handle: async ({ tally }) => ({ data: await tally.listPriceVersions(), next_cursor: null }),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}',
    summary: 'An account',
    tag: 'accounts',
    access: 'read',
    customer: true,
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.getAccount(params.id!);
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/balance',
    summary: 'The balance now: usable and held credits, by kind, per grant, and the next expiry',
    tag: 'accounts',
    access: 'read',
    customer: true,
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.getBalance(params.id!);
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/remaining',
    summary: '"About N more": runs the balance covers per operation, and runway at the 7-day burn rate',
    tag: 'accounts',
    access: 'read',
    customer: true,
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.remaining(params.id!);
    },
  },
  {
    method: 'post',
    path: '/v1/accounts/{id}/grants',
    summary: 'Grant credits to an account',
    tag: 'grants',
    access: 'write',
    customer: false,
    body: without(issueGrantInput, 'account'),
    idempotent: true,
    handle: ({ tally, params, body, options }) =>
      tally.run(issueGrantCommand, { ...objectBody(body), account: params.id }, options),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/grants',
    summary: "An account's grants, as they stand now",
    tag: 'grants',
    access: 'read',
    customer: true,
    query: listQuery,
    handle: async ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      const { status } = parseInput(listQuery, query);
      const grants = await tally.listGrants(params.id!);
      return { data: status ? grants.filter((grant) => grant.status === status) : grants, next_cursor: null };
    },
  },
  {
    method: 'post',
    path: '/v1/grants/{id}/revoke',
    summary: 'Revoke what a grant has left',
    tag: 'grants',
    access: 'write',
    customer: false,
    body: without(revokeGrantInput, 'grant'),
    idempotent: true,
    handle: ({ tally, params, body, options }) =>
      tally.run(revokeGrantCommand, { ...objectBody(body), grant: params.id }, options),
  },
  {
    method: 'post',
    path: '/v1/accounts/{id}/tokens',
    summary: 'Mint a short-lived customer token that sees and acts on this account only',
    tag: 'access',
    access: 'write',
    customer: false,
    body: mintTokenInput.omit({ account: true, minted_by: true }),
    idempotent: true,
    handle: ({ tally, params, body, options, principal }) =>
      tally.run(
        mintTokenCommand,
        {
          ...objectBody(body ?? {}),
          account: params.id,
          minted_by: principal?.kind === 'key' ? principal.key_id : null,
        },
        options,
      ),
  },
  {
    method: 'post',
    path: '/v1/accounts/{id}/tokens/revoke',
    summary:
      'Revoke every customer token of this account minted until now (revoking a key revokes the tokens it minted)',
    tag: 'access',
    access: 'write',
    customer: false,
    idempotent: true,
    handle: ({ tally, params, options }) => tally.run(revokeTokensCommand, { account: params.id }, options),
  },
  {
    method: 'post',
    path: '/v1/estimates',
    summary:
      'Price a run before it happens: min, expected and max credits, whether it is affordable, what blocks it',
    tag: 'runs',
    access: 'read',
    customer: true,
    body: estimateInput,
    handle: ({ tally, body, options, ownAccount }) => {
      ownAccount(objectBody(body).account as string | undefined);
      return tally.estimate(body as never, options);
    },
  },
  {
    method: 'post',
    path: '/v1/reservations',
    summary: 'Hold credits for a run before it starts',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: reserveInput,
    idempotent: true,
    handle: ({ tally, body, options }) => tally.run(reserveCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/reservations/{id}',
    summary: 'A reservation (held, settled, released or expired)',
    tag: 'runs',
    access: 'read',
    customer: true,
    handle: async ({ tally, params, ownAccount }) => {
      const reservation = await tally.getReservation(params.id!);
      ownAccount(reservation.account, 'reservation_not_found');
      return reservation;
    },
  },
  {
    method: 'post',
    path: '/v1/reservations/{id}/settle',
    summary: 'Charge the actual usage of a reserved run; what it did not use goes back',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: without(settleInput, 'reservation'),
    idempotent: true,
    handle: ({ tally, params, body, options }) =>
      tally.run(settleCommand, { ...objectBody(body), reservation: params.id }, options),
  },
  {
    method: 'post',
    path: '/v1/reservations/{id}/release',
    summary: 'Void a reservation: every held credit goes back',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: without(releaseInput, 'reservation'),
    idempotent: true,
    handle: ({ tally, params, body, options }) =>
      tally.run(releaseCommand, { ...objectBody(body ?? {}), reservation: params.id }, options),
  },
  {
    method: 'post',
    path: '/v1/charges',
    summary: 'Reserve and settle in one step, for a run whose cost is known',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: chargeInput,
    idempotent: true,
    handle: ({ tally, body, options }) => tally.run(chargeCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/charges',
    summary:
      "An account's charges, newest first: filters, cursor paging, and `format=csv` for every match as CSV",
    tag: 'history',
    access: 'read',
    customer: true,
    query: listChargesInput.extend({ format: z.enum(['json', 'csv']).optional() }),
    handle: async ({ tally, query, ownAccount }) => {
      const { format, ...filter } = query;
      ownAccount(filter.account);
      if (format !== 'csv') return tally.listCharges(filter as never);
      const { limit: _limit, cursor: _cursor, ...all } = filter;
      return new Response(chargesCsv(await tally.exportCharges(all as never)), {
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="charges-${filter.account}.csv"`,
        },
      });
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/usage',
    summary:
      'Usage grouped by day, operation, model, thread, project, member or outcome, and the effective cost per usable output',
    tag: 'history',
    access: 'read',
    customer: true,
    query: usageInput.omit({ account: true }),
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.usage({ ...query, account: params.id } as never);
    },
  },
  {
    method: 'get',
    path: '/v1/charges/{id}',
    summary: 'A charge',
    tag: 'runs',
    access: 'read',
    customer: true,
    handle: async ({ tally, params, ownAccount }) => {
      const charge = await tally.getCharge(params.id!);
      ownAccount(charge.account, 'charge_not_found');
      return charge;
    },
  },
  {
    method: 'post',
    path: '/v1/charges/{id}/refund',
    summary: 'Refund (part of) a charge as a non-expiring bonus grant',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: without(refundInput, 'charge'),
    idempotent: true,
    handle: ({ tally, params, body, options }) =>
      tally.run(refundChargeCommand, { ...objectBody(body), charge: params.id }, options),
  },
  {
    method: 'post',
    path: '/v1/price-book/versions',
    summary: 'Publish a new price book version (earlier versions never change)',
    tag: 'prices',
    access: 'admin',
    customer: false,
    body: z.object({ operations: z.record(z.string(), z.unknown()) }).passthrough(),
    idempotent: true,
    handle: ({ tally, body, options }) => tally.run(publishPriceBookCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/price-book/versions/{version}',
    summary: 'A published price book version',
    tag: 'prices',
    access: 'public',
    customer: true,
    handle: ({ tally, params }) => {
      const version = Number(params.version);
      if (!Number.isSafeInteger(version))
        throw new TallyError('price_version_not_found', `no version ${params.version}`);
      return tally.priceTable(version);
    },
  },
  {
    method: 'get',
    path: '/v1/plans',
    summary: 'Plans: price, rank, allowances, limits and entitlements',
    tag: 'plans',
    access: 'public',
    customer: true,
    handle: async ({ tally }) => ({ data: tally.listPlans(), next_cursor: null }),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/subscription',
    summary: "The account's subscription, or null",
    tag: 'plans',
    access: 'read',
    customer: true,
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.getSubscription(params.id!);
    },
  },
  {
    method: 'put',
    path: '/v1/accounts/{id}/subscription',
    summary:
      'Subscribe or change plan: an upgrade applies now with prorated credits, a downgrade at period end',
    tag: 'plans',
    access: 'write',
    customer: false,
    body: without(subscriptionInput, 'account'),
    idempotent: true,
    handle: ({ tally, params, body, options }) =>
      tally.run(subscribeCommand, { ...objectBody(body), account: params.id }, options),
  },
  {
    method: 'delete',
    path: '/v1/accounts/{id}/subscription',
    summary: 'Cancel at the end of the current period',
    tag: 'plans',
    access: 'write',
    customer: false,
    idempotent: true,
    handle: ({ tally, params, options }) =>
      tally.run(cancelSubscriptionCommand, { account: params.id }, options),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/limits',
    summary: "The account's limits with what is used and when each resets",
    tag: 'plans',
    access: 'read',
    customer: true,
    handle: async ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return { data: await tally.listLimits(params.id!), next_cursor: null };
    },
  },
  {
    method: 'put',
    path: '/v1/accounts/{id}/limits/{limit_id}',
    summary:
      'Set a limit: an operator may replace a plan limit for this account; a customer sets spending limits of their own',
    tag: 'plans',
    access: 'write',
    customer: true,
    body: limitInput.omit({ account: true, id: true }),
    idempotent: true,
    handle: ({ tally, params, body, options, principal, ownAccount }) => {
      ownAccount(params.id);
      // Who sets the limit comes from the caller, never from the body: a customer's is their own.
      return tally.run(
        putLimitCommand,
        {
          ...objectBody(body),
          account: params.id,
          id: params.limit_id,
          set_by: principal?.kind === 'customer' ? 'customer' : 'operator',
        },
        options,
      );
    },
  },
  {
    method: 'get',
    path: '/v1/events',
    summary: 'The event feed, oldest first: pass next_cursor back as cursor to follow it',
    tag: 'events',
    access: 'read',
    customer: true,
    query: listEventsInput,
    handle: ({ tally, query, principal, ownAccount }) => {
      // A customer token sees its own account's events only.
      if (query.account !== undefined) ownAccount(query.account);
      return tally.listEvents({
        ...query,
        ...(principal?.kind === 'customer' ? { account: principal.account } : {}),
      } as never);
    },
  },
  {
    method: 'post',
    path: '/v1/webhook-endpoints',
    summary: 'Subscribe a URL to event types; the answer carries its signing secret (Standard Webhooks)',
    tag: 'events',
    access: 'admin',
    customer: false,
    body: webhookEndpointInput,
    idempotent: true,
    handle: ({ tally, body, options }) => tally.run(createEndpointCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints',
    summary: 'Webhook endpoints (never their secrets)',
    tag: 'events',
    access: 'admin',
    customer: false,
    handle: async ({ tally }) => ({ data: await tally.webhooks.listEndpoints(), next_cursor: null }),
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints/{id}/deliveries',
    summary: 'The delivery log of an endpoint: every delivery and each of its attempts',
    tag: 'events',
    access: 'admin',
    customer: false,
    handle: async ({ tally, params }) => ({
      data: await tally.webhooks.deliveries(params.id!),
      next_cursor: null,
    }),
  },
  {
    method: 'post',
    path: '/v1/webhook-deliveries/{id}/replay',
    summary: 'Deliver an event to its endpoint again',
    tag: 'events',
    access: 'admin',
    customer: false,
    idempotent: true,
    handle: ({ tally, params, options }) =>
      tally.run(replayDeliveryCommand, { delivery: params.id }, options),
  },
  {
    method: 'get',
    path: '/v1/keys',
    summary: 'Secret API keys (never their secrets)',
    tag: 'access',
    access: 'admin',
    customer: false,
    handle: async ({ tally }) => ({ data: await tally.access.listKeys(), next_cursor: null }),
  },
  {
    method: 'post',
    path: '/v1/keys',
    summary: 'Create a secret API key; its secret is in this answer only',
    tag: 'access',
    access: 'admin',
    customer: false,
    body: createKeyInput,
    idempotent: true,
    handle: ({ tally, body, options }) => tally.run(createKeyCommand, body, options),
  },
  {
    method: 'post',
    path: '/v1/keys/{id}/revoke',
    summary: 'Revoke a secret API key',
    tag: 'access',
    access: 'admin',
    customer: false,
    idempotent: true,
    handle: ({ tally, params, options }) => tally.run(revokeKeyCommand, { key: params.id }, options),
  },
];

/** Only on a server started with --test-clock. */
export const testClockRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/test/clock',
    summary: "The test clock's time",
    tag: 'test clock',
    access: 'read',
    customer: false,
    handle: async ({ test_clock }) => ({ now: new Date(test_clock!.now_ms()).toISOString() }),
  },
  {
    method: 'post',
    path: '/v1/test/clock',
    summary: 'Move the test clock forward, then run every job that came due, in order',
    tag: 'test clock',
    access: 'admin',
    customer: false,
    body: clockBody,
    handle: async ({ tally, test_clock, body }) => {
      const move = parseInput(clockBody, body ?? {});
      const target_ms =
        'now' in move ? Date.parse(move.now) : test_clock!.now_ms() + move.advance_seconds * 1000;
      if (target_ms < test_clock!.now_ms()) throw new TallyError('test_clock_backwards');
      // Refused before moving: a clock past every valid date would break each later request.
      if (target_ms > TEST_CLOCK_LATEST_MS)
        throw new TallyError(
          'test_clock_out_of_range',
          `the latest time is ${new Date(TEST_CLOCK_LATEST_MS).toISOString()}`,
        );
      test_clock!.set(target_ms);
      const due = await tally.bookDueWork();
      const webhooks = await tally.webhooks.dispatch();
      return { now: new Date(test_clock!.now_ms()).toISOString(), due_work: due, webhooks };
    },
  },
];
