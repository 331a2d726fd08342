/** Grants (SPEC C1): buckets of credits issued to an account, and taken back. */
import { TallyError } from '../../domain/results.ts';
import { issueGrantInput, revokeGrantInput } from '../../schema/commands.ts';
import { AccountSession } from '../account-session.ts';
import { grantView } from '../views.ts';
import { command } from './command.ts';

/** Grants credits to an account. */
export const issueGrantCommand = command({
  name: 'issue_grant',
  input: issueGrantInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, engine, environment }, grant) => {
    const priority = grant.priority ?? engine.kind_priority.get(grant.kind);
    if (priority === undefined) {
      throw new TallyError(
        'kind_not_found',
        `no grant kind ${grant.kind}; kinds are ${engine.config.kinds.join(', ')}`,
      );
    }
    const effective_at_ms = grant.effective_at ?? now_ms;
    const expires_at_ms = grant.expires_at ?? null;
    if (expires_at_ms !== null && expires_at_ms <= effective_at_ms) {
      throw new TallyError('invalid_request', 'expires_at must be after effective_at', {
        errors: [{ field: 'expires_at', code: 'invalid_request', message: 'must be after effective_at' }],
      });
    }
    const session = await AccountSession.open(transaction, grant.account, environment);
    const id = engine.ids.next('gr', now_ms);
    const row = await session.issueGrant(
      {
        id,
        kind: grant.kind,
        priority,
        amount_micros: grant.amount,
        effective_at_ms,
        expires_at_ms,
        source: grant.source ?? 'admin',
        reason: grant.reason ?? null,
        allowed_operations: grant.allowed_operations ?? null,
        refund_of_charge_id: null,
        metadata: grant.metadata ?? {},
        allowance_id: null,
        period_start_ms: null,
        requires_subscription: grant.requires_subscription ?? false,
      },
      { from: 'issued', type: 'grant_issue', reference_id: id },
    );
    return grantView(row, now_ms);
  },
});

/** Takes back what a grant has left (held credits stay with their reservations). */
export const revokeGrantCommand = command({
  name: 'revoke_grant',
  input: revokeGrantInput,
  audited: true,
  run: async ({ transaction, now_ms, environment }, { grant: grant_id, reason }) => {
    const found = await transaction.getGrant(grant_id);
    if (!found) throw new TallyError('grant_not_found', `no grant ${grant_id}`);
    const session = await AccountSession.open(transaction, found.account_id, environment);
    const grant = await session.grant(grant_id);
    if (grant.status !== 'active')
      throw new TallyError('grant_not_active', `grant ${grant_id} is ${grant.status}`);
    await session.closeGrant(grant, 'revoked', now_ms, reason);
    return grantView(grant, now_ms);
  },
});
