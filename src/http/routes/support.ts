/** Support and analytics (SPEC C13, C16): breakage, effective cost, thread review, compensations, incidents. */
import { z } from 'zod';
import {
  breakageAnswer,
  compensationAnswer,
  effectiveCostAnswer,
  incidentAnswer,
  threadReviewAnswer,
} from '../../schema/answers.ts';
import { breakageInput, effectiveCostInput, incidentInput } from '../../schema/commands.ts';
import { creditsField, identifierField, reasonField } from '../../schema/fields.ts';
import { parseInput } from '../../schema/parse.ts';
import { checkedInput, objectBody, type RouteDefinition } from './route.ts';

const reviewQuery = z.strictObject({ account: identifierField });
/** The body as documented; the command checks it whole (schema/commands.ts compensationInput). */
const compensationBody = z.strictObject({
  charges: z.array(identifierField).min(1).max(100).optional(),
  amount: creditsField().optional(),
  reason: reasonField,
});

export const supportRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/analytics/breakage',
    summary: 'Breakage: credits that expired unused, by kind, plan or month, in money too',
    tag: 'analytics',
    access: 'read',
    customer: false,
    query: breakageInput,
    answer: breakageAnswer,
    handle: ({ tally, query }) => tally.breakage(checkedInput(breakageInput, query)),
  },
  {
    method: 'get',
    path: '/v1/analytics/effective-cost',
    summary:
      'The effective cost per usable output by operation, plan or project: failed and rejected runs count in the spend, not in the outputs',
    tag: 'analytics',
    access: 'read',
    customer: false,
    query: effectiveCostInput,
    answer: effectiveCostAnswer,
    handle: ({ tally, query }) => tally.effectiveCost(checkedInput(effectiveCostInput, query)),
  },
  {
    method: 'get',
    path: '/v1/threads/{thread}/review',
    summary:
      "A thread's charges in order, flagged: retry loops and cycles, failed runs that cost, outliers, runs during an incident; with the compensation they add up to",
    tag: 'support',
    access: 'read',
    customer: false,
    query: reviewQuery,
    answer: threadReviewAnswer,
    handle: ({ tally, params, query }) =>
      tally.threadReview({ ...parseInput(reviewQuery, query), thread: params.thread! }),
  },
  {
    method: 'post',
    path: '/v1/accounts/{id}/compensations',
    summary:
      'Compensate charges (all that is left of them, or an amount) or give a goodwill amount: one non-expiring bonus grant, never beyond the charges; audited',
    tag: 'support',
    access: 'admin',
    customer: false,
    body: compensationBody,
    idempotent: true,
    answer: compensationAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.compensate({ ...objectBody(body), account: params.id } as never, options),
  },
  {
    method: 'post',
    path: '/v1/incidents',
    summary:
      'Record a platform incident (a time window, the operations it hit): thread review flags runs in it; audited',
    tag: 'support',
    access: 'admin',
    customer: false,
    body: incidentInput,
    idempotent: true,
    answer: incidentAnswer,
    handle: ({ tally, body, options }) => tally.recordIncident(objectBody(body) as never, options),
  },
  {
    method: 'get',
    path: '/v1/incidents',
    summary: 'The incidents recorded, oldest first',
    tag: 'support',
    access: 'read',
    customer: false,
    answer: z.strictObject({ data: z.array(incidentAnswer) }),
    handle: ({ tally }) => tally.listIncidents(),
  },
];
