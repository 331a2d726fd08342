/** Webhook endpoints (SPEC C12), as commands: idempotent, and audited in their own transaction. */
import { z } from 'zod';
import { webhookEndpointInput } from '../../schema/commands.ts';
import { identifierField } from '../../schema/fields.ts';
import { insertEndpoint, replayDelivery } from '../webhooks.ts';
import { command } from './command.ts';

/** Subscribes a URL to event types; the answer carries its signing secret. */
export const createEndpointCommand = command({
  name: 'create_webhook_endpoint',
  input: webhookEndpointInput,
  audited: true,
  run: ({ transaction, engine, now_ms }, request) =>
    insertEndpoint(transaction, engine.ids, request, engine.webhook_targets, now_ms),
});

/** Delivers an event to its endpoint again, at the next pass. */
export const replayDeliveryCommand = command({
  name: 'replay_webhook_delivery',
  input: z.strictObject({ delivery: identifierField }),
  audited: true,
  run: ({ transaction, now_ms }, { delivery }) => replayDelivery(transaction, delivery, now_ms),
});
