/**
 * Who may call Tally (SPEC §6), as commands: secret keys made and revoked, customer tokens
 * minted and revoked. Each is idempotent and audited in its own transaction. A secret is shown
 * once: the idempotency record keeps the answer without it, so a replay answers the key (or
 * token) with `secret`/`token` null rather than store a credential in plain text.
 */
import { z } from 'zod';
import { CUSTOMER_TOKEN_TTL_SECONDS_MAX } from '../../domain/limits.ts';
import { TallyError } from '../../domain/results.ts';
import { identifierField } from '../../schema/fields.ts';
import { insertApiKey, revokeApiKey } from '../access.ts';
import { existingAccount } from '../reads/reads.ts';
import { checkTeamMember } from '../teams.ts';
import { isoTime } from '../views.ts';
import { command } from './command.ts';

export const createKeyInput = z.strictObject({
  scope: z.enum(['admin', 'write', 'read']),
  name: z.string().min(1).max(200),
});

/** Makes a secret key; its secret is in this answer only. */
export const createKeyCommand = command({
  name: 'create_api_key',
  input: createKeyInput,
  audited: true,
  run: ({ transaction, engine, now_ms }, request) => insertApiKey(transaction, engine.ids, request, now_ms),
  record: (answer) => ({ ...answer, secret: null }),
});

/** Revokes a secret key and every customer token it minted; revoking it again changes nothing. */
export const revokeKeyCommand = command({
  name: 'revoke_api_key',
  input: z.strictObject({ key: identifierField }),
  audited: true,
  run: ({ transaction, now_ms }, { key }) => revokeApiKey(transaction, key, now_ms),
  audit_when: (answer) => !answer.already_revoked,
  committed: (engine) => engine.access.forgetChecked(),
});

export const mintTokenInput = z.strictObject({
  account: identifierField,
  ttl_seconds: z.number().int().min(1).max(CUSTOMER_TOKEN_TTL_SECONDS_MAX).optional(),
  /** On a team: the member the token is for; it sees the team's balance and their own runs. */
  member: identifierField.optional(),
  /** The key that mints it (set by the HTTP edge from the caller): revoking that key revokes the token. */
  minted_by: identifierField.nullable().default(null),
});

/** Mints a short-lived customer token that sees this account only. */
export const mintTokenCommand = command({
  name: 'mint_customer_token',
  input: mintTokenInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, engine }, request) => {
    const account = await existingAccount(transaction, request.account);
    if (request.member !== undefined) {
      if (account.kind !== 'team')
        throw new TallyError('account_not_team', `${request.account} is a user account`);
      await checkTeamMember(transaction, account, request.member);
    }
    return engine.access.mintCustomerToken(
      request.account,
      request.ttl_seconds,
      request.minted_by,
      transaction,
      request.member ?? null,
    );
  },
  record: (answer) => ({ ...answer, token: null }),
});

/** Revokes every customer token of the account minted until now. */
export const revokeTokensCommand = command({
  name: 'revoke_customer_tokens',
  input: z.strictObject({ account: identifierField }),
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, now_ms }, { account }) => {
    await existingAccount(transaction, account);
    await transaction.revokeCustomerTokens('account', account, now_ms);
    return { account, revoked_before: isoTime(now_ms) };
  },
  committed: (engine) => engine.access.forgetChecked(),
});
