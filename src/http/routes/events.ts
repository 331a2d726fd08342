/** Events and webhooks (SPEC C12). */
import {
  deliveryAnswer,
  eventAnswer,
  madeWebhookEndpointAnswer,
  pageAnswer,
  webhookEndpointAnswer,
} from '../../schema/answers.ts';
import { listEventsInput, webhookEndpointInput } from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import { createEndpointCommand, replayDeliveryCommand } from '../../service/commands/webhooks.ts';

import { pageQuery, type RouteDefinition } from './route.ts';

export const eventsRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/events',
    summary: 'The event feed, oldest first: pass next_cursor back as cursor to follow it',
    tag: 'events',
    access: 'read',
    customer: true,
    query: listEventsInput,
    answer: pageAnswer(eventAnswer),
    handle: ({ tally, query, principal, ownAccount }) => {
      const filter = parseInput(listEventsInput, query);
      // A customer token sees its own account's events only.
      if (filter.account !== undefined) ownAccount(filter.account);
      return tally.listEvents({
        ...filter,
        ...(principal?.kind === 'customer' ? { account: principal.account } : {}),
      });
    },
  },
  {
    method: 'post',
    path: '/v1/webhook-endpoints',
    summary: 'Subscribe a URL to event types; the answer carries its signing secret (Standard Webhooks)',
    tag: 'events',
    access: 'admin',
    customer: false,
    body: webhookEndpointInput,
    idempotent: true,
    answer: madeWebhookEndpointAnswer,
    handle: ({ tally, body, options }) => tally.run(createEndpointCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints',
    summary: 'Webhook endpoints (never their secrets)',
    tag: 'events',
    access: 'admin',
    customer: false,
    answer: pageAnswer(webhookEndpointAnswer),
    // Endpoints are few (WEBHOOK_ENDPOINTS_MAX): one page holds them all.
    handle: async ({ tally }) => ({ data: await tally.webhooks.listEndpoints(), next_cursor: null }),
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints/{id}/deliveries',
    summary: 'The delivery log of an endpoint: every delivery and each of its attempts',
    tag: 'events',
    access: 'admin',
    customer: false,
    answer: pageAnswer(deliveryAnswer),
    query: pageQuery,
    handle: ({ tally, params, query }) => tally.webhooks.deliveries(params.id!, parseInput(pageQuery, query)),
  },
  {
    method: 'post',
    path: '/v1/webhook-deliveries/{id}/replay',
    summary: 'Deliver an event to its endpoint again',
    tag: 'events',
    access: 'admin',
    customer: false,
    idempotent: true,
    answer: deliveryAnswer,
    handle: ({ tally, params, options }) =>
      tally.run(replayDeliveryCommand, { delivery: params.id }, options),
  },
];
