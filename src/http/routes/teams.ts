/** Teams' members (SPEC C11). */
import { z } from 'zod';
import { memberAnswer } from '../../schema/answers.ts';
import { memberInput } from '../../schema/commands.ts';
import { objectBody, type RouteDefinition } from './route.ts';

const membersAnswer = z.strictObject({ data: z.array(memberAnswer) });

export const teamsRoutes: RouteDefinition[] = [
  {
    method: 'put',
    path: '/v1/accounts/{id}/members/{member}',
    summary:
      'Add a user to a team, or change their role (owner, admin, member) and their own day, month or billing-cycle limits; audited',
    tag: 'teams',
    access: 'write',
    customer: false,
    body: memberInput.omit({ team: true, member: true }),
    idempotent: true,
    answer: memberAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.putMember({ ...objectBody(body), team: params.id, member: params.member } as never, options),
  },
  {
    method: 'delete',
    path: '/v1/accounts/{id}/members/{member}',
    summary: 'Remove a member from a team, with their own limits; the last owner stays; audited',
    tag: 'teams',
    access: 'write',
    customer: false,
    idempotent: true,
    answer: memberAnswer.extend({ removed: z.literal(true) }),
    handle: ({ tally, params, options }) => tally.removeMember(params.id!, params.member!, options),
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/members',
    summary: "A team's members, with their roles and own limits",
    tag: 'teams',
    access: 'read',
    customer: true,
    answer: membersAnswer,
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.listMembers(params.id!);
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/teams',
    summary: 'The teams a user belongs to, with their role and own limits in each',
    tag: 'teams',
    access: 'read',
    customer: true,
    answer: membersAnswer,
    handle: ({ tally, params, ownAccount }) => {
      ownAccount(params.id);
      return tally.teamsOf(params.id!);
    },
  },
];
