/**
 * Teams (SPEC C11): a team account's credits are one pool its members spend from, each run
 * naming its `member`. A member's own limits are the team's account limits scoped to them, and a
 * team limit on each member (member `*`) measures every member apart; both are caps of the one
 * draw from the pool, in its transaction, so no member or pool limit is ever checked apart.
 */
import type { z } from 'zod';
import { formatCredits } from '../domain/credits.ts';
import { TallyError } from '../domain/results.ts';
import type { memberAnswer } from '../schema/answers.ts';
import type { AccountLimitRow, AccountRow, StoreTransaction, TeamMemberRow } from '../store/store.ts';
import { isoTime } from './views.ts';

/** The windows a member's own limits may be set over. */
export const MEMBER_LIMIT_WINDOWS = ['day', 'month', 'billing_cycle'] as const;
export type MemberLimitWindow = (typeof MEMBER_LIMIT_WINDOWS)[number];

/** The id of a member's own limit over a window, among the team's limits. */
export const memberLimitId = (member: string, window: MemberLimitWindow): string =>
  `member:${member}:${window}`;

/** A run on a team that names a member must name a member of that team. */
export async function checkTeamMember(
  transaction: StoreTransaction,
  account: AccountRow,
  member: string | null | undefined,
): Promise<void> {
  if (account.kind !== 'team' || member == null) return;
  if (!(await transaction.getTeamMember(account.id, member))) {
    throw new TallyError('member_not_in_team', `${member} is not a member of team ${account.id}`);
  }
}

export type MemberView = z.infer<typeof memberAnswer>;

export function memberView(row: TeamMemberRow, team_limits: readonly AccountLimitRow[]): MemberView {
  const limits: MemberView['limits'] = {};
  for (const window of MEMBER_LIMIT_WINDOWS) {
    const limit = team_limits.find(
      (candidate) => candidate.set_by === 'operator' && candidate.id === memberLimitId(row.member_id, window),
    );
    if (limit) limits[window] = formatCredits(limit.max_micros);
  }
  return {
    team: row.account_id,
    member: row.member_id,
    role: row.role,
    limits,
    joined_at: isoTime(row.created_at_ms),
    updated_at: isoTime(row.updated_at_ms),
  };
}
