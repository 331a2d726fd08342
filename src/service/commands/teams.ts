/**
 * Team membership (SPEC C11), under the team's account lock: adding or changing a member and
 * their own limits, and removing one. A team that has an owner keeps one.
 */
import { TallyError } from '../../domain/results.ts';
import { memberInput, removeMemberInput } from '../../schema/commands.ts';
import type { AccountLimitRow, StoreTransaction, TeamMemberRow } from '../../store/store.ts';
import { AccountSession } from '../account-session.ts';
import { MEMBER_LIMIT_WINDOWS, memberLimitId, memberView } from '../teams.ts';
import { command } from './command.ts';

async function openTeam(
  context: { transaction: StoreTransaction; environment: Parameters<typeof AccountSession.open>[2] },
  team_id: string,
): Promise<AccountSession> {
  const session = await AccountSession.open(context.transaction, team_id, context.environment);
  if (session.account.kind !== 'team')
    throw new TallyError('account_not_team', `${team_id} is a user account`);
  return session;
}

/** Refuses taking the owner role from `member` when no other member of the team is an owner. */
async function keepAnOwner(transaction: StoreTransaction, team_id: string, member: string): Promise<void> {
  const owners = (await transaction.listTeamMembers(team_id)).filter((row) => row.role === 'owner');
  if (owners.length === 1 && owners[0]!.member_id === member) {
    throw new TallyError(
      'team_needs_owner',
      `${member} is the last owner of team ${team_id}: make another member owner first`,
    );
  }
}

/** A member's own limit over a window, as a limit of the team scoped to them. */
const memberLimit = (
  team: string,
  member: string,
  window: (typeof MEMBER_LIMIT_WINDOWS)[number],
  max_micros: bigint,
  now_ms: number,
): AccountLimitRow => ({
  account_id: team,
  set_by: 'operator',
  id: memberLimitId(member, window),
  window,
  max_micros,
  kinds: null,
  operations: null,
  member,
  project: null,
  api_key: null,
  updated_at_ms: now_ms,
});

export const putMemberCommand = command({
  name: 'put_member',
  input: memberInput,
  audited: true,
  account: (input) => input.team,
  run: async ({ transaction, now_ms, environment }, request) => {
    const session = await openTeam({ transaction, environment }, request.team);
    const user = await transaction.getAccount(request.member);
    if (!user) throw new TallyError('account_not_found', `no account ${request.member}`);
    if (user.kind === 'team') throw new TallyError('member_is_team', `${request.member} is a team`);
    const existing = await transaction.getTeamMember(request.team, request.member);
    if (existing?.role === 'owner' && request.role !== 'owner')
      await keepAnOwner(transaction, request.team, request.member);
    const row: TeamMemberRow = {
      account_id: request.team,
      member_id: request.member,
      role: request.role,
      created_at_ms: existing?.created_at_ms ?? now_ms,
      updated_at_ms: now_ms,
    };
    await transaction.putTeamMember(row);
    let limits = session.account_limits.filter((limit) => limit.member === request.member);
    if (request.limits) {
      limits = [];
      for (const window of MEMBER_LIMIT_WINDOWS) {
        const max = request.limits[window];
        const limit = memberLimit(request.team, request.member, window, max ?? 0n, now_ms);
        if (max === undefined) await transaction.deleteAccountLimit(limit);
        else {
          await transaction.putAccountLimit(limit);
          limits.push(limit);
        }
      }
    }
    return memberView(row, limits);
  },
});

export const removeMemberCommand = command({
  name: 'remove_member',
  input: removeMemberInput,
  audited: true,
  account: (input) => input.team,
  run: async ({ transaction, now_ms, environment }, request) => {
    const session = await openTeam({ transaction, environment }, request.team);
    const existing = await transaction.getTeamMember(request.team, request.member);
    if (!existing)
      throw new TallyError('member_not_found', `${request.member} is not a member of team ${request.team}`);
    if (existing.role === 'owner') await keepAnOwner(transaction, request.team, request.member);
    await transaction.deleteTeamMember(request.team, request.member);
    for (const window of MEMBER_LIMIT_WINDOWS) {
      await transaction.deleteAccountLimit(memberLimit(request.team, request.member, window, 0n, now_ms));
    }
    return { ...memberView(existing, session.account_limits), removed: true as const };
  },
});
