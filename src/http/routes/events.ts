/** Events and webhooks (SPEC C12). */
import {
  eventAnswer,
  madeWebhookEndpointAnswer,
  pageAnswer,
  webhookEndpointAnswer,
} from '../../schema/answers.ts';
import { listEventsInput, webhookEndpointInput } from '../../schema/commands.ts';
import { createEndpointCommand, replayDeliveryCommand } from '../../service/commands/webhooks.ts';

import type { RouteDefinition } from './route.ts';

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
      // A customer token sees its own account's events only.
      if (query.account !== undefined) ownAccount(query.account);
      return tally.listEvents({
        ...query,
        ...(principal?.kind === 'customer' ? { account: principal.account } : {}),
      } as never);
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
    handle: async ({ tally }) => ({ data: await tally.webhooks.listEndpoints(), next_cursor: null }),
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints/{id}/deliveries',
    summary: 'The delivery log of an endpoint: every delivery and each of its attempts',
    tag: 'events',
    access: 'admin',
    customer: false,
    handle: async ({ tally, params }) => ({
      data: await tally.webhooks.deliveries(params.id!),
      next_cursor: null,
    }),
  },
  {
    method: 'post',
    path: '/v1/webhook-deliveries/{id}/replay',
    summary: 'Deliver an event to its endpoint again',
    tag: 'events',
    access: 'admin',
    customer: false,
    idempotent: true,
    handle: ({ tally, params, options }) =>
      tally.run(replayDeliveryCommand, { delivery: params.id }, options),
  },
];
