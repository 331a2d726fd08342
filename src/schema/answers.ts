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
  prompt: z.string().optional(),
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
  /** Where the usage came from when Tally measured it (the metering proxy); null when the caller gave it. */
  usage_source: z.enum(['reported', 'counted', 'client_disconnected']).nullable(),
  /**
   * The creator of the prompt or app run and their share (SPEC C10): `amount` is what they keep
   * of this charge after refunds took back `reversed`. Null when no creator earns of it.
   */
  creator: z
    .strictObject({
      account: z.string(),
      amount: credits,
      reversed: credits,
      basis: z.enum(['cost', 'premium']),
    })
    .nullable(),
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
  /** Open grants (pending, active), and closed ones still holding a reservation's credits; every grant is at …/grants. */
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

export const proxyKeyAnswer = z.strictObject({
  id: z.string(),
  account: z.string(),
  name: z.string(),
  /** Enough of the secret to tell keys apart; the secret itself is never shown again. */
  secret_prefix: z.string(),
  created_at: time,
  revoked_at: nullableTime,
});

/** A proxy key as made: its secret (`pk_…`, an OpenAI client's API key), this once (null on a replay). */
export const madeProxyKeyAnswer = proxyKeyAnswer.extend({ secret: z.string().nullable() });

export const revokedProxyKeyAnswer = proxyKeyAnswer.extend({ already_revoked: z.boolean() });

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

export const deliveryAnswer = z.strictObject({
  id: z.string(),
  endpoint_id: z.string(),
  event_id: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.array(
    z.strictObject({
      at: time,
      status_code: z.number().int().nullable(),
      error: z.string().nullable(),
      duration_ms: z.number(),
    }),
  ),
  next_attempt_at: nullableTime,
  created_at: time,
  completed_at: nullableTime,
});

export const revokedApiKeyAnswer = z.strictObject({
  id: z.string(),
  revoked: z.literal(true),
  already_revoked: z.boolean(),
});

export const customerTokenAnswer = z.strictObject({
  /** Null when a retry replays the minting: a credential is shown once. */
  token: z.string().nullable(),
  account: z.string(),
  /** The team member the token is for: it sees the team's balance and their own runs only. */
  member: z.string().nullable(),
  expires_at: time,
});

export const revokedTokensAnswer = z.strictObject({ account: z.string(), revoked_before: time });

export const priceVersionAnswer = z.strictObject({
  version: z.number().int(),
  effective_at: time,
  published_at: time,
});

const decimalRecord = stringRecord;
const priceMoney = z.strictObject({ currency: z.string(), amount_minor: z.number().int() });

const providerPriceAnswer = z
  .strictObject({ per_units: z.number(), rates: decimalRecord, markup: z.string() })
  .nullable();

export const operationPriceAnswer = z.strictObject({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  category: z.string(),
  /** Credits per unit of each dimension. */
  rates: decimalRecord,
  flat_credits: credits,
  provider_price: providerPriceAnswer,
  models: z.array(
    z.strictObject({
      id: z.string(),
      rates: decimalRecord,
      flat_credits: credits.nullable(),
      provider_price: providerPriceAnswer,
      /** An entitlement this model needs (in place of the operation's), or null. */
      requires_entitlement: z.string().nullable(),
    }),
  ),
  add_ons: decimalRecord,
  min_credits: credits.nullable(),
  max_credits: credits.nullable(),
  rounding: z.strictObject({ mode: z.string(), step_credits: credits }),
  failed_run: z.strictObject({ policy: z.string(), credits: credits.optional() }),
  /**
   * The creator's share of a run on someone else's work, and what it is of the example run: the
   * example charge on shared work (with its premium under `premium`) in its two parts.
   */
  creator_share: z
    .strictObject({
      basis: z.enum(['cost', 'premium']),
      rate: z.string(),
      example: z.strictObject({ credits, ai_cost: credits, creator: credits }).nullable(),
    })
    .nullable(),
  requires_entitlement: z.string().nullable(),
  /** What a run that fails or produces nothing costs after `after_identical` identical runs in its thread. */
  no_progress: z.strictObject({ after_identical: z.number().int(), credits }).nullable(),
  example_usage: decimalRecord,
  /** The example usage priced (with the first model when the operation prices only per model); null if it cannot be. */
  example_cost: z.strictObject({ credits, money: moneyAnswer, model: z.string().nullable() }).nullable(),
});

export const priceTableAnswer = z.strictObject({
  version: z.number().int(),
  effective_at: time,
  /** What one credit is worth: in minor units as configured, and exactly in major units. */
  credit_value: z.strictObject({
    currency: z.string(),
    amount_minor_per_credit: z.string(),
    amount_per_credit: z.string(),
  }),
  operations: z.array(operationPriceAnswer),
});

export const allowanceAnswer = z.strictObject({
  id: z.string(),
  kind: z.string(),
  amount: credits,
  /** As configured: a monthly period starts on the account's anniversary or on the 1st (`month_starts`). */
  period: z.enum(['daily', 'weekly', 'monthly', 'billing_cycle']),
  month_starts: z.enum(['signup', 'calendar']).nullable(),
  expires: z.union([z.enum(['period_end', 'never']), z.strictObject({ after_days: z.number().int() })]),
  rollover: z.union([
    z.enum(['none', 'full']),
    z.strictObject({ max_credits: credits, max_periods: z.number().int().nullable() }),
  ]),
  reset: z.boolean(),
  requires_subscription: z.boolean(),
});

export const planAnswer = z.strictObject({
  id: z.string(),
  name: z.string(),
  price: priceMoney,
  rank: z.number().int(),
  allowances: z.array(allowanceAnswer),
  limits: z.array(
    z.strictObject({
      id: z.string(),
      window: limitAnswer.shape.window,
      max: credits,
      kinds: z.array(z.string()).nullable(),
      operations: z.array(z.string()).nullable(),
    }),
  ),
  entitlements: z.array(z.string()),
});

export const subscriptionAnswer = z.strictObject({
  account: z.string(),
  plan: z.string(),
  status: z.enum(['active', 'canceled']),
  current_period_start: time,
  current_period_end: time,
  cancel_at_period_end: z.boolean(),
  /** A downgrade that takes effect at the end of the period. */
  pending_plan: z.string().nullable(),
  overrides: z.strictObject({
    /** Allowance amounts by allowance id, in micro-credits as decimal strings. */
    allowances: stringRecord.optional(),
    /** Limit maxima by limit id, in micro-credits as decimal strings. */
    limits: stringRecord.optional(),
    entitlements: z.array(z.string()).optional(),
    /** Price factors by operation ("0.8": 20 % off). */
    prices: stringRecord.optional(),
  }),
  started_at: time,
  ended_at: nullableTime,
});

export const subscriptionChangeAnswer = z.strictObject({
  subscription: subscriptionAnswer,
  /** What an upgrade granted at once for the rest of the cycle, and what it costs. */
  proration: z.strictObject({ credits, money: priceMoney }).nullable(),
  /** When the change takes effect: now, or at the end of the period. */
  effective: z.enum(['now', 'period_end']),
});

/** An account with its subscription, if it has one. */
export const accountWithSubscriptionAnswer = accountAnswer.extend({
  subscription: subscriptionAnswer.nullable(),
});

/** What would block a run: the policy's reasons, or a missing entitlement with the plans that give it. */
export const blockerAnswer = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('insufficient_credits'), needed: credits, available: credits }),
  z.strictObject({
    kind: z.literal('limit'),
    limit_id: z.string(),
    /** Whether the customer set this limit themselves (they can raise it again) or the operator did. */
    set_by: z.enum(['operator', 'customer']),
    window: z.string(),
    max: credits,
    used: credits,
    resets_at: nullableTime,
  }),
  z.strictObject({
    kind: z.literal('subscription_required'),
    grant_id: z.string(),
    grant_kind: z.string(),
    amount: credits,
  }),
  z.strictObject({
    kind: z.literal('restriction'),
    grant_id: z.string(),
    grant_kind: z.string(),
    amount: credits,
  }),
  z.strictObject({ kind: z.literal('entitlement'), entitlement: z.string(), plans: z.array(z.string()) }),
]);

export const usageBasisAnswer = z.enum(['given', 'history', 'example']);

export const estimateAnswer = z.strictObject({
  account: z.string(),
  operation: z.string(),
  model: z.string().nullable(),
  price_version: z.number().int(),
  credits_min: credits,
  credits_expected: credits,
  credits_max: credits,
  money: z.strictObject({ min: moneyAnswer, expected: moneyAnswer, max: moneyAnswer }),
  /** The usage `credits_expected` prices, and where it came from. */
  usage_expected: stringRecord,
  usage_basis: usageBasisAnswer,
  input_tokens: z
    .strictObject({
      tokens: z.number().int(),
      method: z.enum(['o200k_base', 'cl100k_base', 'characters_per_4']),
    })
    .nullable(),
  /** Whether a reservation of `credits_max` would succeed now. */
  affordable: z.boolean(),
  blocked_by: z.array(blockerAnswer),
  /** What would unblock it: top_up, upgrade, wait. */
  options: z.array(z.string()),
  /** Credits usable for this operation now. */
  available: credits,
  balance_after: credits.nullable(),
  /** Whole runs at the expected cost the usable balance covers; null when a run costs nothing. */
  runs_affordable: z.number().int().nullable(),
  /**
   * On someone else's prompt or app: the creator's share of the expected charge (`amount`) and
   * the AI cost (`ai_cost`). Under `premium` the two add up to the charge; under `cost` the
   * share is carved out of the AI cost, which is the whole charge.
   */
  creator: z
    .strictObject({
      account: z.string(),
      basis: z.enum(['cost', 'premium']),
      amount: credits,
      ai_cost: credits,
    })
    .nullable(),
});

export const remainingAnswer = z.strictObject({
  account: z.string(),
  price_version: z.number().int(),
  operations: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      runs_affordable: z.number().int().nullable(),
      /** An entitlement the account lacks for this operation (runs_affordable is then 0), or null. */
      entitlement_required: z.string().nullable(),
      /** What would make a run possible when none is: `upgrade` (a plan with the entitlement) or `top_up`. */
      options: z.array(z.string()),
      typical_cost: credits,
      typical_money: moneyAnswer,
      typical_usage: stringRecord,
      usage_basis: usageBasisAnswer,
    }),
  ),
  /** Average credits spent per day over the last BURN_RATE_WINDOW_DAYS days. */
  burn_per_day: credits,
  /** Days the usable balance lasts at that rate; null when nothing was spent. */
  runway_days: z.string().nullable(),
});

export const usageAnswer = z.strictObject({
  account: z.string(),
  group_by: z.string(),
  groups: z.array(
    z.strictObject({ key: z.string(), credits, count: z.number().int(), failed: z.number().int() }),
  ),
  total_credits: credits,
  runs: z.number().int(),
  usable_outputs: z.number().int(),
  /** All credits spent ÷ runs that succeeded; null when none did. */
  effective_cost_per_usable_output: z.string().nullable(),
});

export const refundAnswer = z.strictObject({
  refund_id: z.string(),
  charge_id: z.string(),
  amount: credits,
  grant: grantAnswer,
});

export const clockAnswer = z.strictObject({ now: time });

/** The clock moved, and what the jobs that came due on the way did. */
export const clockMoveAnswer = clockAnswer.extend({
  due_work: z.strictObject({
    accounts: z.number().int(),
    reservations_expired: z.number().int(),
    grants_expired: z.number().int(),
    grants_announced: z.number().int(),
  }),
  webhooks: z.strictObject({
    fanned_out: z.number().int(),
    delivered: z.number().int(),
    failed_attempts: z.number().int(),
  }),
});

/** A list: one page, and where the next one starts (null at the end). */
export const pageAnswer = <Item extends z.ZodType>(item: Item) =>
  z.strictObject({ data: z.array(item), next_cursor: z.string().nullable() });

// ── Packs and purchases (SPEC C9) ───────────────────────────────────────────────────────

const packPriceAnswer = z.strictObject({
  currency: z.string(),
  /** One pack, in major units. */
  amount: z.string(),
  /** Money per credit bought (bonus not counted), major units, to six decimals. */
  unit_price: z.string(),
  /** Money per credit received, bonus included. */
  unit_price_with_bonus: z.string(),
  /** Percent cheaper per credit than the base pack, rounded down; negative when dearer. */
  discount_percent: z.string(),
});

export const packAnswer = z.strictObject({
  id: z.string(),
  name: z.string(),
  credits: credits,
  kind: z.string(),
  expires_after_days: z.number().int().nullable(),
  bonus: z
    .strictObject({ credits: credits, kind: z.string(), expires_after_days: z.number().int().nullable() })
    .nullable(),
  prices: z.array(packPriceAnswer),
  volume_tiers: z.array(
    z.strictObject({ from_quantity: z.number().int(), prices: z.array(packPriceAnswer) }),
  ),
  refund_policy: z.enum(['clamp', 'debt']),
  /** Whether this is the base pack discounts are measured against. */
  base: z.boolean(),
});

export const packListAnswer = z.strictObject({
  /** Names these terms: a purchase that sends it is refused once they change. */
  version: z.string(),
  /** What one credit is worth, for showing credits beside money ("1 credit = USD 0.01"). */
  credit_value: z.strictObject({
    currency: z.string(),
    amount_minor_per_credit: z.string(),
    amount_per_credit: z.string(),
  }),
  providers: z.array(z.string()),
  data: z.array(packAnswer),
});

export const purchaseAnswer = z.strictObject({
  id: z.string(),
  account: z.string(),
  pack: z.string(),
  pack_name: z.string(),
  quantity: z.number().int(),
  status: z.enum(['pending', 'paid', 'failed', 'expired', 'refunded', 'partially_refunded']),
  provider: z.string(),
  credits: credits,
  bonus_credits: credits,
  price: moneyAnswer,
  auto_recharge: z.boolean(),
  checkout_url: z.string().nullable(),
  grant: grantAnswer.nullable(),
  bonus_grant: grantAnswer.nullable(),
  refunds: z.array(
    z.strictObject({
      id: z.string(),
      amount: moneyAnswer,
      clawed_back: credits,
      debt: credits,
      reason: z.string(),
      at: time,
    }),
  ),
  failure: z.string().nullable(),
  reference: z.string().nullable(),
  created_at: time,
  paid_at: nullableTime,
  expires_at: time,
});

export const purchaseListAnswer = z.strictObject({
  data: z.array(purchaseAnswer),
  next_cursor: z.string().nullable(),
});

export const autoRechargeAnswer = z.strictObject({
  account: z.string(),
  enabled: z.boolean(),
  threshold: credits,
  pack: z.string().nullable(),
  currency: z.string(),
  monthly_max: credits.nullable(),
  /** Credits bought by auto-recharge this calendar month (account timezone). */
  bought_this_month: credits,
  status: z.enum(['active', 'paused', 'disabled']),
  status_reason: z.string().nullable(),
  in_flight_purchase: z.string().nullable(),
  failures_in_row: z.number().int(),
});

export const providerEventAnswer = z.strictObject({
  provider: z.string(),
  id: z.string(),
  type: z.string(),
  purchase: z.string().nullable(),
  outcome: z.enum(['applied', 'ignored', 'unmatched']),
  received_at: time,
});

/** One line of a creator's statement: the runs of a day, a prompt or an app. */
export const earningsGroupAnswer = z.strictObject({
  key: z.string(),
  runs: z.number().int(),
  /** What the runners paid for these runs. */
  gross: credits,
  /** The creator's share as booked. */
  share: credits,
  /** What refunds took back of it. */
  reversed: credits,
  /** share − reversed. */
  net: credits,
  money: moneyAnswer,
});

export const earningsAnswer = z.strictObject({
  creator: z.string(),
  from: nullableTime,
  to: time,
  group_by: z.enum(['day', 'prompt', 'app']),
  groups: z.array(earningsGroupAnswer),
  gross: credits,
  share: credits,
  reversed: credits,
  net: credits,
  /** The net in money at the credit value. */
  money: moneyAnswer,
  /**
   * What may be paid out now, over all time: the net of runs older than the hold, less what
   * was paid. Negative when refunds took back shares already paid (owed back from future earnings).
   */
  payable: credits,
  payable_money: moneyAnswer,
  /** The net of runs still within the hold (the refund window). */
  in_hold: credits,
  paid: credits,
  hold_days: z.number().int(),
});

export const payoutAnswer = z.strictObject({
  id: z.string(),
  creator: z.string(),
  amount: credits,
  money: moneyAnswer,
  as: z.enum(['money', 'credits']),
  /** The grant the payout made, when paid as credits. */
  grant_id: z.string().nullable(),
  reference: z.string().nullable(),
  /** Only earnings of runs before this instant could be paid. */
  earned_before: time,
  created_at: time,
});

export const creatorSummaryAnswer = z.strictObject({
  creator: z.string(),
  net: credits,
  payable: credits,
  paid: credits,
});

/** A member of a team (SPEC C11), with their own limits by window. */
export const memberAnswer = z.strictObject({
  team: z.string(),
  member: z.string(),
  role: z.enum(['owner', 'admin', 'member']),
  limits: z.strictObject({
    day: credits.optional(),
    month: credits.optional(),
    billing_cycle: credits.optional(),
  }),
  joined_at: time,
  updated_at: time,
});

export const compensationAnswer = z.strictObject({
  id: z.string(),
  account: z.string(),
  amount: credits,
  grant: grantAnswer,
  /** What each charge had back of it; empty for a goodwill amount. */
  charges: z.array(z.strictObject({ charge: z.string(), amount: credits })),
  reason: z.string(),
  created_at: time,
});

export const incidentAnswer = z.strictObject({
  id: z.string(),
  from: time,
  to: time,
  operations: z.array(z.string()).nullable(),
  note: z.string(),
  created_at: time,
});

export const threadReviewAnswer = z.strictObject({
  account: z.string(),
  thread: z.string(),
  charges: z.array(chargeAnswer),
  flags: z.array(
    z.strictObject({
      kind: z.enum(['retry_loop', 'retry_cycle', 'failed_cost', 'outlier', 'incident']),
      charges: z.array(z.string()),
      detail: z.string(),
    }),
  ),
  /** What is left (after refunds and compensations) of every flagged charge, each counted once. */
  proposed_compensation: credits,
  money: moneyAnswer,
});

/** Breakage: credits that expired unused, by kind, plan or month, in money too. */
export const breakageAnswer = z.strictObject({
  group_by: z.enum(['kind', 'plan', 'month']),
  groups: z.array(z.strictObject({ key: z.string(), credits, money: moneyAnswer, grants: z.number().int() })),
  credits,
  money: moneyAnswer,
});

/** What a usable output costs, failed and rejected runs counted in the spend, not in the outputs. */
export const effectiveCostAnswer = z.strictObject({
  group_by: z.enum(['operation', 'plan', 'project']),
  groups: z.array(
    z.strictObject({
      key: z.string(),
      credits,
      runs: z.number().int(),
      failed: z.number().int(),
      usable_outputs: z.number().int(),
      /** Rounded down to the micro-credit; null without a usable output. */
      effective_cost_per_usable_output: credits.nullable(),
      money_per_usable_output: moneyAnswer.nullable(),
    }),
  ),
});
