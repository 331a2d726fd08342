/** Keys, customer tokens and the audit log (SPEC §6, C13). */
import {
  apiKeyAnswer,
  auditAnswer,
  customerTokenAnswer,
  madeApiKeyAnswer,
  pageAnswer,
  revokedApiKeyAnswer,
  revokedTokensAnswer,
} from '../../schema/answers.ts';
import { parseInput } from '../../schema/parse.ts';
import {
  createKeyCommand,
  createKeyInput,
  mintTokenCommand,
  mintTokenInput,
  revokeKeyCommand,
  revokeTokensCommand,
} from '../../service/commands/access.ts';

import { auditQuery, objectBody, pageQuery, type RouteDefinition } from './route.ts';

export const accessRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/audit',
    summary: 'The audit log of operator actions, newest first (metering is in the ledger, not here)',
    tag: 'access',
    access: 'admin',
    customer: false,
    query: auditQuery,
    answer: pageAnswer(auditAnswer),
    handle: ({ tally, query }) => tally.listAudit(parseInput(auditQuery, query)),
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
    answer: customerTokenAnswer,
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
    answer: revokedTokensAnswer,
    handle: ({ tally, params, options }) => tally.run(revokeTokensCommand, { account: params.id }, options),
  },
  {
    method: 'get',
    path: '/v1/keys',
    summary: 'Secret API keys (never their secrets)',
    tag: 'access',
    access: 'admin',
    customer: false,
    answer: pageAnswer(apiKeyAnswer),
    query: pageQuery,
    handle: ({ tally, query }) => tally.access.listKeys(parseInput(pageQuery, query)),
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
    answer: madeApiKeyAnswer,
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
    answer: revokedApiKeyAnswer,
    handle: ({ tally, params, options }) => tally.run(revokeKeyCommand, { key: params.id }, options),
  },
];
