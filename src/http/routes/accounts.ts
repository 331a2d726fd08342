/** Accounts and what they hold (SPEC §1, C1). */
import {
  accountAnswer,
  accountWithSubscriptionAnswer,
  balanceAnswer,
  pageAnswer,
  remainingAnswer,
} from '../../schema/answers.ts';
import { accountSettingsInput, putAccountInput } from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import { accountSettingsCommand, putAccountCommand } from '../../service/commands/accounts.ts';

import { accountSearchQuery, objectBody, type RouteDefinition, without } from './route.ts';

export const accountsRoutes: RouteDefinition[] = [
  {
    method: 'put',
    path: '/v1/accounts/{id}',
    summary: 'Create an account, or update its timezone and metadata',
    tag: 'accounts',
    access: 'write',
    customer: false,
    body: without(putAccountInput, 'id'),
    answer: accountWithSubscriptionAnswer,
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
    answer: pageAnswer(accountAnswer),
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
    answer: accountAnswer,
    handle: ({ tally, params, body, options, ownAccount }) => {
      ownAccount(params.id);
      return tally.run(accountSettingsCommand, { ...objectBody(body), account: params.id }, options);
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}',
    summary: 'An account',
    tag: 'accounts',
    access: 'read',
    customer: true,
    answer: accountWithSubscriptionAnswer,
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
    answer: balanceAnswer,
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
    answer: remainingAnswer,
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.remaining(params.id!);
    },
  },
];
