/** Usage history and analytics (SPEC C13). */
import { z } from 'zod';
import { listChargesInput, usageInput } from '../../schema/commands.ts';
import { chargesCsv } from '../csv.ts';

import type { RouteDefinition } from './route.ts';

export const historyRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/charges',
    summary:
      "An account's charges, newest first: filters, cursor paging, and `format=csv` for every match as CSV",
    tag: 'history',
    access: 'read',
    customer: true,
    query: listChargesInput.extend({ format: z.enum(['json', 'csv']).optional() }),
    handle: async ({ tally, query, ownAccount }) => {
      const { format, ...filter } = query;
      ownAccount(filter.account);
      if (format !== 'csv') return tally.listCharges(filter as never);
      const { limit: _limit, cursor: _cursor, ...all } = filter;
      return new Response(chargesCsv(await tally.exportCharges(all as never)), {
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
    query: usageInput.omit({ account: true }),
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.usage({ ...query, account: params.id } as never);
    },
  },
];
