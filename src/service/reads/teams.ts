/** Reads of teams (SPEC C11): a team's members with their own limits, and the teams of a user. */
import { TallyError } from '../../domain/results.ts';
import { type MemberView, memberView } from '../teams.ts';
import { existingAccount, type ReadContext } from './reads.ts';

export async function listMembers(context: ReadContext, team_id: string): Promise<{ data: MemberView[] }> {
  return context.store.read(async (transaction) => {
    const team = await existingAccount(transaction, team_id);
    if (team.kind !== 'team') throw new TallyError('account_not_team', `${team_id} is a user account`);
    const limits = await transaction.listAccountLimits(team_id);
    return { data: (await transaction.listTeamMembers(team_id)).map((row) => memberView(row, limits)) };
  });
}

/** The teams a user account is a member of, with their role and limits there. */
export async function teamsOf(context: ReadContext, member_id: string): Promise<{ data: MemberView[] }> {
  return context.store.read(async (transaction) => {
    await existingAccount(transaction, member_id);
    const data: MemberView[] = [];
    for (const row of await transaction.listTeamsOf(member_id)) {
      data.push(memberView(row, await transaction.listAccountLimits(row.account_id)));
    }
    return { data };
  });
}
