/** The store contract, teams: memberships by team and by member, updated in place, removed once. */
import { describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { accountRow, T0 } from './fixtures.ts';

export function teamsContract(store: () => Store): void {
  describe('teams', () => {
    it('keeps memberships, updates a role in place and removes one once', async () => {
      await store().transaction(async (tx) => {
        for (const id of ['team_a', 'team_b', 'ann', 'ben']) await tx.insertAccount(accountRow(id));
        await tx.putTeamMember({
          account_id: 'team_a',
          member_id: 'ben',
          role: 'member',
          created_at_ms: T0,
          updated_at_ms: T0,
        });
        await tx.putTeamMember({
          account_id: 'team_a',
          member_id: 'ann',
          role: 'owner',
          created_at_ms: T0,
          updated_at_ms: T0,
        });
        await tx.putTeamMember({
          account_id: 'team_b',
          member_id: 'ann',
          role: 'member',
          created_at_ms: T0,
          updated_at_ms: T0,
        });
      });
      await store().transaction((tx) =>
        tx.putTeamMember({
          account_id: 'team_a',
          member_id: 'ben',
          role: 'admin',
          created_at_ms: T0 + 5,
          updated_at_ms: T0 + 5,
        }),
      );
      const read = await store().read(async (tx) => ({
        members: await tx.listTeamMembers('team_a'),
        ben: await tx.getTeamMember('team_a', 'ben'),
        nobody: await tx.getTeamMember('team_b', 'ben'),
        teams_of_ann: (await tx.listTeamsOf('ann')).map((row) => [row.account_id, row.role]),
      }));
      expect(read.members.map((row) => [row.member_id, row.role])).toEqual([
        ['ann', 'owner'],
        ['ben', 'admin'],
      ]);
      // Joined at T0, changed at T0 + 5: the update keeps when they joined.
      expect(read.ben).toEqual({
        account_id: 'team_a',
        member_id: 'ben',
        role: 'admin',
        created_at_ms: T0,
        updated_at_ms: T0 + 5,
      });
      expect(read.nobody).toBeUndefined();
      expect(read.teams_of_ann).toEqual([
        ['team_a', 'owner'],
        ['team_b', 'member'],
      ]);
      await store().transaction((tx) => tx.deleteTeamMember('team_a', 'ben'));
      await expect(store().transaction((tx) => tx.deleteTeamMember('team_a', 'ben'))).rejects.toThrow();
      expect((await store().read((tx) => tx.listTeamMembers('team_a'))).map((row) => row.member_id)).toEqual([
        'ann',
      ]);
    });
  });
}
