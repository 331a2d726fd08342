/** Grants (SPEC C1). */
import { grantAnswer, pageAnswer } from '../../schema/answers.ts';
import { issueGrantInput, revokeGrantInput } from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import { issueGrantCommand, revokeGrantCommand } from '../../service/commands/grants.ts';

import { grantsQuery, objectBody, type RouteDefinition, without } from './route.ts';

export const grantsRoutes: RouteDefinition[] = [
  {
    method: 'post',
    path: '/v1/accounts/{id}/grants',
    summary: 'Grant credits to an account',
    tag: 'grants',
    access: 'write',
    customer: false,
    body: without(issueGrantInput, 'account'),
    idempotent: true,
    answer: grantAnswer,
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
    query: grantsQuery,
    answer: pageAnswer(grantAnswer),
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.listGrantPage(params.id!, parseInput(grantsQuery, query));
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
    answer: grantAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.run(revokeGrantCommand, { ...objectBody(body), grant: params.id }, options),
  },
];
