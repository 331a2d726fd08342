/** Usage history and analytics (SPEC C13). */

import { z } from 'zod';
import { chargeAnswer, pageAnswer, usageAnswer } from '../../schema/answers.ts';
import { listChargesInput, usageInput } from '../../schema/commands.ts';
import { chargesCsv } from '../csv.ts';

import { checkedInput, type RouteDefinition } from './route.ts';

const chargesQuery = listChargesInput.extend({ format: z.enum(['json', 'csv']).optional() });
const usageQuery = usageInput.omit({ account: true });

export const historyRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/charges',
    summary:
      "An account's charges, newest first: filters, cursor paging, and `format=csv` for every match as CSV",
    tag: 'history',
    access: 'read',
    customer: true,
    query: chargesQuery,
    answer: pageAnswer(chargeAnswer),
    handle: async ({ tally, query, ownAccount, member_scope }) => {
      const { format, ...asked } = checkedInput(chargesQuery, query);
      ownAccount(asked.account);
      // A team member's token sees their own runs of the team, whatever member the query names.
      const filter = { ...asked, member: member_scope ?? asked.member };
      if (format !== 'csv') return tally.listCharges(filter);
      const { limit: _limit, cursor: _cursor, ...all } = filter;
      return new Response(chargesCsv(await tally.exportCharges(all)), {
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="charges-${filter.account}.csv"`,
        },
      });
    },
  },
  {
    method: 'get',
    path: '/v1/accounts/{id}/usage',
    summary:
      'Usage grouped by day, operation, model, thread, project, member or outcome, and the effective cost per usable output',
    tag: 'history',
    access: 'read',
    customer: true,
    query: usageQuery,
    answer: usageAnswer,
    handle: ({ tally, params, query, ownAccount, member_scope }) => {
      ownAccount(params.id);
      const usage = checkedInput(usageQuery, query);
      return tally.usage({ ...usage, account: params.id!, member: member_scope ?? usage.member });
    },
  },
];
