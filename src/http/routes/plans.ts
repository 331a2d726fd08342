/** Plans, subscriptions and limits (SPEC C7, C8). */
import {
  limitAnswer,
  pageAnswer,
  planAnswer,
  subscriptionAnswer,
  subscriptionChangeAnswer,
} from '../../schema/answers.ts';
import { limitInput, planOverridesInput, subscriptionInput } from '../../schema/commands.ts';
import {
  cancelSubscriptionCommand,
  planOverridesCommand,
  putLimitCommand,
  subscribeCommand,
} from '../../service/commands/plans.ts';

import { objectBody, type RouteDefinition, without } from './route.ts';

export const plansRoutes: RouteDefinition[] = [
  {
    method: 'put',
    path: '/v1/accounts/{id}/plan-overrides',
    summary:
      'A custom plan for this account: its own allowance amounts, limit maxima, entitlements and price factors by operation, kept through upgrades and renewals; audited',
    tag: 'plans',
    access: 'admin',
    customer: false,
    body: without(planOverridesInput, 'account'),
    idempotent: true,
    answer: subscriptionAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.run(planOverridesCommand, { ...objectBody(body), account: params.id }, options),
  },
  {
    method: 'get',
    path: '/v1/plans',
    summary: 'Plans: price, rank, allowances, limits and entitlements',
    tag: 'plans',
    access: 'public',
    customer: true,
    answer: pageAnswer(planAnswer),
    handle: async ({ tally }) => ({ data: tally.listPlans(), next_cursor: null }),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/subscription',
    summary: "The account's subscription, or null",
    tag: 'plans',
    access: 'read',
    customer: true,
    answer: subscriptionAnswer.nullable(),
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
    answer: subscriptionChangeAnswer,
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
    answer: subscriptionAnswer,
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
    answer: pageAnswer(limitAnswer),
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
    answer: limitAnswer,
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
];
