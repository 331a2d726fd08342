/** The public price table and the price book (SPEC C4). */

import { z } from 'zod';
import { TallyError } from '../../domain/results.ts';
import { pageAnswer, priceTableAnswer, priceVersionAnswer } from '../../schema/answers.ts';
import { parseInput } from '../../schema/parse.ts';
import { publishPriceBookCommand } from '../../service/commands/price-book.ts';

import { pageQuery, type RouteDefinition } from './route.ts';

export const pricesRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/prices',
    summary: 'The public price table: credit value and every operation with its rates and an example cost',
    tag: 'prices',
    access: 'public',
    customer: true,
    answer: priceTableAnswer,
    handle: ({ tally }) => tally.priceTable(),
  },
  {
    method: 'get',
    path: '/v1/price-book/versions',
    summary: 'Every published price book version, with when it takes effect',
    tag: 'prices',
    access: 'public',
    customer: true,
    answer: pageAnswer(priceVersionAnswer),
    query: pageQuery,
    handle: ({ tally, query }) => tally.listPriceVersions(parseInput(pageQuery, query)),
  },
  {
    method: 'post',
    path: '/v1/price-book/versions',
    summary: 'Publish a new price book version (earlier versions never change)',
    tag: 'prices',
    access: 'admin',
    customer: false,
    body: z.object({ operations: z.record(z.string(), z.unknown()) }).passthrough(),
    idempotent: true,
    answer: priceTableAnswer,
    handle: ({ tally, body, options }) => tally.run(publishPriceBookCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/price-book/versions/{version}',
    summary: 'A published price book version',
    tag: 'prices',
    access: 'public',
    customer: true,
    answer: priceTableAnswer,
    handle: ({ tally, params }) => {
      const version = Number(params.version);
      if (!Number.isSafeInteger(version))
        throw new TallyError('price_version_not_found', `no version ${params.version}`);
      return tally.priceTable(version);
    },
  },
];
