/**
 * The inputs of every service command, defined once: they validate library calls, and the
 * HTTP edge reuses them for request bodies and the OpenAPI document. Unknown fields are
 * refused, not ignored.
 */
import { z } from 'zod';
import {
  ESTIMATE_INPUT_TEXT_LENGTH_MAX,
  IDENTIFIER_LENGTH_MAX,
  MAX_OUTPUT_TOKENS_MAX,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  PURCHASE_QUANTITY_MAX,
  URL_LENGTH_MAX,
} from '../domain/limits.ts';
import {
  creditsField,
  identifierField,
  metadataField,
  outcomeField,
  priceFactorField,
  reasonField,
  runMetadataField,
  timestampField,
  timezoneField,
  ttlSecondsField,
  usageField,
} from './fields.ts';

export const putAccountInput = z.strictObject({
  id: identifierField,
  kind: z.enum(['user', 'team']),
  timezone: timezoneField.optional(),
  /** balance.low fires when usable credits fall below this (once per crossing); null turns it off. */
  low_balance_threshold: creditsField({ allow_zero: true }).nullable().optional(),
  metadata: metadataField.optional(),
  /** Subscribes the account to this plan, or changes its plan (as PUT …/subscription does). */
  plan: identifierField.optional(),
});

export const issueGrantInput = z.strictObject({
  account: identifierField,
  kind: identifierField,
  amount: creditsField(),
  effective_at: timestampField.optional(),
  expires_at: timestampField.nullable().optional(),
  /** Overrides the kind's draw-down priority for this grant only. */
  priority: z.number().int().min(0).max(1_000).optional(),
  source: z.enum(['admin', 'plan', 'purchase', 'refund', 'compensation', 'promotion']).optional(),
  reason: reasonField.optional(),
  /** Operations this grant may pay for; `chat.*` matches by prefix. */
  allowed_operations: z.array(z.string().min(1).max(128)).min(1).max(64).optional(),
  /** Premium credits: usable only while the account has an active subscription. */
  requires_subscription: z.boolean().optional(),
  metadata: metadataField.optional(),
});

export const revokeGrantInput = z.strictObject({
  grant: identifierField,
  reason: reasonField,
});

const runFields = {
  account: identifierField,
  operation: identifierField,
  model: identifierField.optional(),
  add_ons: z.array(identifierField).max(16).optional(),
  member: identifierField.optional(),
  /** The creator of the prompt or app run (the same as metadata.author, which it fills in). */
  creator: identifierField.optional(),
  metadata: runMetadataField.optional(),
};

export const reserveInput = z.strictObject({
  ...runFields,
  usage: usageField.optional(),
  max_credits: creditsField().optional(),
  ttl_seconds: ttlSecondsField.optional(),
});

export const settleInput = z.strictObject({
  reservation: identifierField,
  usage: usageField,
  outcome: outcomeField.optional(),
  /** Where the usage came from, when Tally measured it (the metering proxy sets it). */
  usage_source: z.enum(['reported', 'counted', 'client_disconnected']).optional(),
});

export const releaseInput = z.strictObject({
  reservation: identifierField,
  reason: reasonField.optional(),
});

export const chargeInput = z.strictObject({
  ...runFields,
  usage: usageField,
  outcome: outcomeField.optional(),
});

export const estimateInput = z.strictObject({
  ...runFields,
  /** Expected usage; with `input_text`, its token count replaces `input_tokens`. */
  usage: usageField.optional(),
  /** Raw input: its tokens are counted with the model's tokenizer (or estimated, see tokens.ts). */
  input_text: z.string().max(ESTIMATE_INPUT_TEXT_LENGTH_MAX).optional(),
  max_output_tokens: z.number().int().min(0).max(MAX_OUTPUT_TOKENS_MAX).optional(),
});

/** Publishing validates the price book itself (schema/config.ts); here it is only an object. */
export const publishPriceBookInput = z.looseObject({ operations: z.record(z.string(), z.unknown()) });

const historyFilter = {
  account: identifierField,
  from: timestampField.optional(),
  to: timestampField.optional(),
  operation: identifierField.optional(),
  model: identifierField.optional(),
  member: identifierField.optional(),
  outcome: outcomeField.optional(),
  thread: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  project: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  app: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
};

/** Query strings carry numbers as text. */
const pageSize = z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT);

export const listChargesInput = z.strictObject({
  ...historyFilter,
  limit: pageSize,
  cursor: z.string().max(200).optional(),
});

export const usageInput = z.strictObject({
  ...historyFilter,
  group_by: z.enum(['day', 'operation', 'model', 'thread', 'project', 'member', 'outcome']).default('day'),
});

/** A user's membership of a team, and their own limits by window (null removes one). */
export const memberInput = z.strictObject({
  team: identifierField,
  member: identifierField,
  role: z.enum(['owner', 'admin', 'member']),
  /** Replaces the member's limits: windows left out have none. Omitted, the limits stay as they are. */
  limits: z
    .strictObject({
      day: creditsField({ allow_zero: true }).optional(),
      month: creditsField({ allow_zero: true }).optional(),
      billing_cycle: creditsField({ allow_zero: true }).optional(),
    })
    .optional(),
});

export const removeMemberInput = z.strictObject({ team: identifierField, member: identifierField });

/** The operator's analytics (SPEC C16): breakage and the effective cost per usable output. */
export const breakageInput = z.strictObject({
  from: timestampField.optional(),
  to: timestampField.optional(),
  group_by: z.enum(['kind', 'plan', 'month']).default('kind'),
});
export const effectiveCostInput = z.strictObject({
  from: timestampField.optional(),
  to: timestampField.optional(),
  group_by: z.enum(['operation', 'plan', 'project']).default('operation'),
});

/** A creator's statement (SPEC C10): their earnings in a time range, grouped. */
export const earningsInput = z.strictObject({
  creator: identifierField,
  from: timestampField.optional(),
  to: timestampField.optional(),
  group_by: z.enum(['day', 'prompt', 'app']).default('day'),
});

/** A payout of what a creator earned, bounded by what is payable (earnings past the hold, less payouts). */
export const payoutInput = z.strictObject({
  creator: identifierField,
  amount: creditsField(),
  reference: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  /** `money` (default): paid outside Tally, recorded here. `credits`: a grant of creators.earnings_kind. */
  as: z.enum(['money', 'credits']).default('money'),
});

export const listEventsInput = z.strictObject({
  account: identifierField.optional(),
  type: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  cursor: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  limit: pageSize,
});

export const webhookEndpointInput = z.strictObject({
  url: z.string().min(1).max(URL_LENGTH_MAX),
  events: z.array(z.string().max(IDENTIFIER_LENGTH_MAX)).min(1).max(32),
});

/** Commands that name only an account. */
export const accountIdInput = z.strictObject({ account: identifierField });

export const accountSettingsInput = z.strictObject({
  account: identifierField,
  /** balance.low fires below this (once per crossing); null turns it off. */
  low_balance_threshold: creditsField({ allow_zero: true }).nullable().optional(),
});

/**
 * A custom plan for one account (SPEC C7): allowance amounts and limit maxima by id (credits),
 * extra entitlements, and price factors by operation.
 */
const planOverridesFields = {
  allowances: z.record(identifierField, creditsField()).optional(),
  limits: z.record(identifierField, creditsField({ allow_zero: true })).optional(),
  entitlements: z.array(identifierField).max(32).optional(),
  prices: z.record(identifierField, priceFactorField).optional(),
};

export const subscriptionInput = z.strictObject({
  account: identifierField,
  plan: identifierField,
  overrides: z.strictObject(planOverridesFields).optional(),
});

/** Replaces the account's custom plan: what it leaves out goes back to the plan's own numbers. */
export const planOverridesInput = z.strictObject({ account: identifierField, ...planOverridesFields });

export const limitInput = z.strictObject({
  account: identifierField,
  id: identifierField,
  window: z.enum(['day', 'week', 'month', 'billing_cycle', 'rolling_24h']),
  max: creditsField({ allow_zero: true }),
  kinds: z.array(identifierField).min(1).max(16).optional(),
  operations: z.array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX)).min(1).max(32).optional(),
  member: identifierField.optional(),
  /** On a team: the limit applies to each member apart, existing and new (shown as member `*`). */
  each_member: z.boolean().optional(),
  project: z.string().min(1).max(IDENTIFIER_LENGTH_MAX).optional(),
  /** The id of an API key (key_…): a budget for what runs made with that key spend. */
  api_key: identifierField.optional(),
});

/** A limit as the engine sets it: who sets it comes from the caller (a customer token sets its own). */
export const putLimitInput = limitInput.extend({
  set_by: z.enum(['operator', 'customer']).default('operator'),
});

export const refundInput = z.strictObject({
  charge: identifierField,
  /** Defaults to everything of the charge not yet refunded. */
  amount: creditsField().optional(),
  reason: reasonField,
});

/** Credits restored for charges that went wrong: all that is left of them, or an amount (of them, or goodwill). */
export const compensationInput = z
  .strictObject({
    account: identifierField,
    charges: z.array(identifierField).min(1).max(100).optional(),
    amount: creditsField().optional(),
    reason: reasonField,
  })
  .refine((input) => input.charges !== undefined || input.amount !== undefined, {
    message: 'give the charges to compensate, an amount, or both',
  });

export const incidentInput = z
  .strictObject({
    from: timestampField,
    to: timestampField,
    /** The operations it affected; all when left out. */
    operations: z.array(identifierField).min(1).max(64).optional(),
    note: z.string().min(1).max(500),
  })
  .refine((input) => input.to > input.from, { message: 'to must be after from', path: ['to'] });

// ── Purchases (SPEC C9) ─────────────────────────────────────────────────────────────────

/** How the test provider plays a payment, like a provider's test cards. */
export const TEST_CARDS = ['ok', 'decline', 'fail', 'requires_action', 'twice', 'out_of_order'] as const;
export type TestCard = (typeof TEST_CARDS)[number];

const providerField = z.enum(['test', 'manual', 'stripe']);
const currencyField = z.string().length(3).toUpperCase();
/** Money in the purchase's currency, major units ("4.99"). */
const moneyField = z.union([z.string().max(40), z.number()]);

export const createPurchaseInput = z.strictObject({
  account: identifierField,
  pack: identifierField,
  quantity: z.number().int().min(1).max(PURCHASE_QUANTITY_MAX).default(1),
  /** Defaults to the configuration's payments.provider. */
  provider: providerField.optional(),
  /** Defaults to the credit value's currency, else the pack's first. */
  currency: currencyField.optional(),
  /** The packs' version the customer was shown (GET /v1/packs): refused once the terms changed. */
  packs_version: z.string().max(64).optional(),
  /** The test provider only: how its payment goes. */
  test_card: z.enum(TEST_CARDS).optional(),
});

export const recordCheckoutInput = z.strictObject({
  purchase: identifierField,
  session_id: z.string().max(255).nullable(),
  checkout_url: z.string().max(URL_LENGTH_MAX).nullable(),
});

export const confirmPurchaseInput = z.strictObject({
  purchase: identifierField,
  /** The provider's payment id (granting is idempotent on it); a manual confirmation has none. */
  payment_id: z.string().min(1).max(255).optional(),
  /** What the operator's confirmation refers to (an invoice number). */
  reference: z.string().max(500).optional(),
});

export const failPurchaseInput = z.strictObject({
  purchase: identifierField,
  /** `declined` is terminal (auto-recharge stops at once); `requires_action` pauses auto-recharge. */
  outcome: z.enum(['declined', 'failed', 'requires_action', 'expired']),
  reason: reasonField,
});

export const refundPurchaseInput = z.strictObject({
  purchase: identifierField,
  /** Money to give back, in the purchase's currency; defaults to all that is left. */
  amount: moneyField.optional(),
  reason: reasonField,
  /** The provider's refund id: recording it twice refunds once. */
  provider_refund_id: z.string().max(255).optional(),
});

export const autoRechargeInput = z.strictObject({
  account: identifierField,
  enabled: z.boolean(),
  /** Below this many usable credits one recharge starts. */
  threshold: creditsField(),
  /** The pack it buys; unset: the smallest that brings the balance back above the threshold. */
  pack: identifierField.optional(),
  /** The most credits it buys in the account's calendar month. At least one pack's. */
  monthly_max: creditsField().optional(),
  currency: currencyField.optional(),
});

export const listPurchasesInput = z.strictObject({
  account: identifierField,
  cursor: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
});

export type CreatePurchaseInput = z.input<typeof createPurchaseInput>;
export type AutoRechargeInput = z.input<typeof autoRechargeInput>;
export type RefundPurchaseInput = z.input<typeof refundPurchaseInput>;

export type PutAccountInput = z.input<typeof putAccountInput>;
export type IssueGrantInput = z.input<typeof issueGrantInput>;
export type RevokeGrantInput = z.input<typeof revokeGrantInput>;
export type ReserveInput = z.input<typeof reserveInput>;
export type SettleInput = z.input<typeof settleInput>;
export type ReleaseInput = z.input<typeof releaseInput>;
export type ChargeInput = z.input<typeof chargeInput>;
export type RefundInput = z.input<typeof refundInput>;
export type EstimateInput = z.input<typeof estimateInput>;
export type SubscriptionInput = z.input<typeof subscriptionInput>;
export type AccountSettingsInput = z.input<typeof accountSettingsInput>;
export type LimitInput = z.input<typeof limitInput>;
export type ListChargesInput = z.input<typeof listChargesInput>;
export type UsageInput = z.input<typeof usageInput>;
export type EarningsInput = z.input<typeof earningsInput>;
export type MemberInput = z.input<typeof memberInput>;
export type PlanOverridesInput = z.input<typeof planOverridesInput>;
export type CompensationInput = z.input<typeof compensationInput>;
export type IncidentInput = z.input<typeof incidentInput>;
export type PayoutInput = z.input<typeof payoutInput>;
