/** Keys for the metering proxy, one per end user (SPEC C14). */
import {
  madeProxyKeyAnswer,
  pageAnswer,
  proxyKeyAnswer,
  revokedProxyKeyAnswer,
} from '../../schema/answers.ts';
import { parseInput } from '../../schema/parse.ts';
import {
  createProxyKeyCommand,
  createProxyKeyInput,
  revokeProxyKeyCommand,
} from '../../service/commands/proxy-keys.ts';

import { objectBody, pageQuery, type RouteDefinition } from './route.ts';

export const proxyKeysRoutes: RouteDefinition[] = [
  {
    method: 'post',
    path: '/v1/accounts/{id}/proxy-keys',
    summary:
      "Issue a key an end user sets as an OpenAI client's API key: calls through the proxy pay from this account",
    tag: 'proxy',
    access: 'write',
    customer: false,
    body: createProxyKeyInput.omit({ account: true }),
    idempotent: true,
    answer: madeProxyKeyAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.run(createProxyKeyCommand, { ...objectBody(body ?? {}), account: params.id }, options),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/proxy-keys',
    summary: "An account's proxy keys (never their secrets)",
    tag: 'proxy',
    access: 'read',
    customer: true,
    query: pageQuery,
    answer: pageAnswer(proxyKeyAnswer),
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.access.listProxyKeys(params.id!, parseInput(pageQuery, query));
    },
  },
  {
    method: 'post',
    path: '/v1/proxy-keys/{id}/revoke',
    summary: 'Revoke a proxy key: calls with it are refused from now on',
    tag: 'proxy',
    access: 'write',
    customer: false,
    idempotent: true,
    answer: revokedProxyKeyAnswer,
    handle: ({ tally, params, options }) => tally.run(revokeProxyKeyCommand, { key: params.id }, options),
  },
];
