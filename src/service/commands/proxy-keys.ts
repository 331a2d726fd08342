/**
 * Proxy keys (SPEC C14): an operator issues one per end user, who sets it as an OpenAI client's
 * API key; calls through the metering proxy then pay from that account. Each is idempotent and
 * audited; the secret is shown once (the idempotency record keeps the answer without it).
 */
import { z } from 'zod';
import { identifierField } from '../../schema/fields.ts';
import { insertProxyKey, revokeProxyKey } from '../access.ts';
import { existingAccount } from '../reads/reads.ts';
import { command } from './command.ts';

export const createProxyKeyInput = z.strictObject({
  account: identifierField,
  name: z.string().min(1).max(200).default('proxy key'),
});

/** Makes a proxy key for an account; its secret is in this answer only. */
export const createProxyKeyCommand = command({
  name: 'create_proxy_key',
  input: createProxyKeyInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, engine, now_ms }, request) => {
    await existingAccount(transaction, request.account);
    return insertProxyKey(transaction, engine.ids, request, now_ms);
  },
  record: (answer) => ({ ...answer, secret: null }),
});

/** Revokes a proxy key at once (each process trusts a checked key for API_KEY_CACHE_SECONDS at most). */
export const revokeProxyKeyCommand = command({
  name: 'revoke_proxy_key',
  input: z.strictObject({ key: identifierField }),
  audited: true,
  run: ({ transaction, now_ms }, { key }) => revokeProxyKey(transaction, key, now_ms),
  audit_when: (answer) => !answer.already_revoked,
  committed: (engine) => engine.access.forgetChecked(),
});
