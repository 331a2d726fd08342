/**
 * What Tally answers, as schemas (issue 17): the view types the engine returns, the SDK and the
 * dashboard use, and the OpenAPI document's answers are all derived from these. Strict objects,
 * so a field added to an answer without its schema fails the test that parses real answers.
 */
import { z } from 'zod';

/** Credits as a decimal string: at most 6 decimals. */
const credits = z.string().regex(/^-?\d+(\.\d{1,6})?$/);
const time = z.iso.datetime();
const nullableTime = time.nullable();
const stringRecord = z.record(z.string(), z.string());

export const moneyAnswer = z.strictObject({
  currency: z.string(),
  /** Rounded to the nearest minor unit. */
  amount_minor: z.number().int(),
  /** Exact, in major units ("0.0109" dollars). */
  amount: z.string(),
});

export const runMetadataAnswer = z.strictObject({
  thread: z.string().optional(),
  project: z.string().optional(),
  app: z.string().optional(),
  author: z.string().optional(),
  request_id: z.string().optional(),
  tags: z.array(z.string()).optional(),
});

export const accountAnswer = z.strictObject({
  id: z.string(),
  kind: z.enum(['user', 'team']),
  timezone: z.string(),
  status: z.enum(['active', 'closed']),
  low_balance_threshold: credits.nullable(),
  created_at: time,
  metadata: stringRecord,
});

export const grantAnswer = z.strictObject({
  id: z.string(),
  account: z.string(),
  kind: z.string(),
  amount: credits,
  remaining: credits,
  effective_at: time,
  expires_at: nullableTime,
  priority: z.number().int(),
  source: z.string(),
  status: z.enum(['pending', 'active', 'expired', 'revoked']),
  reason: z.string().nullable(),
  /** When it was revoked or its expiry was booked, and why it was revoked. */
  closed_at: nullableTime,
  closed_reason: z.string().nullable(),
  allowed_operations: z.array(z.string()).nullable(),
  refund_of: z.string().nullable(),
  metadata: stringRecord,
  created_at: time,
});

export const allocationAnswer = z.strictObject({ grant_id: z.string(), kind: z.string(), amount: credits });

export const reservationAnswer = z.strictObject({
  id: z.string(),
  account: z.string(),
  operation: z.string(),
  model: z.string().nullable(),
  status: z.enum(['held', 'settled', 'released', 'expired']),
  amount: credits,
  /** The amount held, in money at the reservation's price version. */
  money: moneyAnswer,
  expires_at: time,
  price_version: z.number().int(),
  grants: z.array(allocationAnswer),
  usage: stringRecord.nullable(),
  member: z.string().nullable(),
  metadata: runMetadataAnswer,
  created_at: time,
  resolved_at: nullableTime,
  charge_id: z.string().nullable(),
});

export const chargeAnswer = z.strictObject({
  id: z.string(),
  account: z.string(),
  reservation_id: z.string().nullable(),
  operation: z.string(),
  model: z.string().nullable(),
  usage: stringRecord,
  credits,
  /** The credits charged, in money at the charge's price version. */
  money: moneyAnswer,
  /** What the run cost beyond what was charged (capped, or more than the balance held). */
  uncollected: credits,
  refunded: credits,
  grants: z.array(allocationAnswer),
  outcome: z.enum(['succeeded', 'failed', 'rejected']),
  price_version: z.number().int(),
  member: z.string().nullable(),
  metadata: runMetadataAnswer,
  created_at: time,
});

export const limitAnswer = z.strictObject({
  id: z.string(),
  window: z.enum(['day', 'week', 'month', 'billing_cycle', 'rolling_24h']),
  max: credits,
  used: credits,
  remaining: credits,
  /** When the window ends, in the account's timezone; null for a rolling window. */
  resets_at: nullableTime,
  kinds: z.array(z.string()).nullable(),
  operations: z.array(z.string()).nullable(),
  member: z.string().nullable(),
  project: z.string().nullable(),
  /** `account`: the operator's for this account; `customer`: the customer's own. */
  source: z.enum(['config', 'plan', 'account', 'customer']),
});

export const balanceAnswer = z.strictObject({
  account: z.string(),
  available: credits,
  held: credits,
  by_kind: z.record(z.string(), z.strictObject({ available: credits, held: credits, unusable: credits })),
  grants: z.array(grantAnswer),
  /** Every limit on the account, how much of it is used, and when it resets (account timezone). */
  limits: z.array(limitAnswer),
  next_expiry: z.strictObject({ amount: credits, at: time }).nullable(),
});

export const eventAnswer = z.strictObject({
  id: z.string(),
  type: z.string(),
  account: z.string(),
  created_at: time,
  data: z.record(z.string(), z.unknown()),
});

export const apiKeyAnswer = z.strictObject({
  id: z.string(),
  scope: z.enum(['admin', 'write', 'read']),
  name: z.string(),
  /** Enough of the secret to tell keys apart; the secret itself is never shown again. */
  secret_prefix: z.string(),
  created_at: time,
  revoked_at: nullableTime,
});

/** A key as made: its secret, this once (null when a retry replays the making). */
export const madeApiKeyAnswer = apiKeyAnswer.extend({ secret: z.string().nullable() });

export const webhookEndpointAnswer = z.strictObject({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  created_at: time,
});

/** An endpoint as made, with the secret its deliveries are signed with (Standard Webhooks). */
export const madeWebhookEndpointAnswer = webhookEndpointAnswer.extend({ secret: z.string() });

export const auditAnswer = z.strictObject({
  id: z.string(),
  /** An API key id, `cli`, or `library`. */
  actor: z.string(),
  action: z.string(),
  account: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  at: time,
});

/** A list: one page, and where the next one starts (null at the end). */
export const pageAnswer = <Item extends z.ZodType>(item: Item) =>
  z.strictObject({ data: z.array(item), next_cursor: z.string().nullable() });
