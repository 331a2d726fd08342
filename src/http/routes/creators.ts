/** Creators' statements and payouts (SPEC C10). */
import { z } from 'zod';
import { creatorSummaryAnswer, earningsAnswer, pageAnswer, payoutAnswer } from '../../schema/answers.ts';
import { earningsInput, payoutInput } from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import { earningsCsv } from '../csv.ts';
import { checkedInput, objectBody, pageLimit, pageQuery, type RouteDefinition } from './route.ts';

const earningsQuery = earningsInput
  .omit({ creator: true })
  .extend({ format: z.enum(['json', 'csv']).optional() });
const payoutsQuery = z.strictObject({ limit: pageLimit });

export const creatorsRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/creators',
    summary: 'Every account that earned as a creator: net earnings, payable now, paid (the console)',
    tag: 'creators',
    access: 'read',
    customer: false,
    query: pageQuery,
    answer: pageAnswer(creatorSummaryAnswer),
    handle: ({ tally, query }) => tally.listCreators(parseInput(pageQuery, query)),
  },
  {
    method: 'get',
    path: '/v1/creators/{id}/earnings',
    summary:
      "A creator's statement: runs, gross, share, reversals and net by day, prompt or app, in money too, and what is payable; `format=csv`",
    tag: 'creators',
    access: 'read',
    customer: true,
    query: earningsQuery,
    answer: earningsAnswer,
    handle: async ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      const { format, ...rest } = checkedInput(earningsQuery, query);
      const statement = await tally.creatorEarnings({ ...rest, creator: params.id! });
      if (format !== 'csv') return statement;
      return new Response(earningsCsv(statement), {
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="earnings-${params.id}.csv"`,
        },
      });
    },
  },
  {
    method: 'post',
    path: '/v1/creators/{id}/payouts',
    summary:
      'Record a payout to a creator, at most what is payable (earnings past the hold, less payouts); in money or as credits; audited',
    tag: 'creators',
    access: 'admin',
    customer: false,
    body: payoutInput.omit({ creator: true }),
    idempotent: true,
    answer: payoutAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.payout({ ...objectBody(body), creator: params.id } as never, options),
  },
  {
    method: 'get',
    path: '/v1/creators/{id}/payouts',
    summary: "A creator's payouts, newest first",
    tag: 'creators',
    access: 'read',
    customer: true,
    query: payoutsQuery,
    answer: pageAnswer(payoutAnswer),
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.listPayouts({ ...parseInput(payoutsQuery, query), creator: params.id! });
    },
  },
];
