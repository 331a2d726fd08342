/**
 * `tally.config.yaml`: grant kinds, the credit value, settlement policy and the price book.
 * The schema validates the file and compiles it into the domain's exact types, so a bad
 * rate is refused when Tally starts, never in the middle of a charge.
 */
import { z } from 'zod';
import { parseCredits } from '../domain/credits.ts';
import { type Decimal, parseDecimal } from '../domain/decimal.ts';
import {
  CREDIT_DECIMALS_MAX,
  IDENTIFIER_LENGTH_MAX,
  RATE_DECIMALS_MAX,
  USAGE_DECIMALS_MAX,
} from '../domain/limits.ts';
import { type CreditValue, currencyExponent, deriveRate } from '../domain/money.ts';
import type { AllowanceRule, LimitRule, Plan, Rollover } from '../domain/plans.ts';
import type { FailedRunPolicy, ModelPrice, OperationPrice, ProviderPrice } from '../domain/pricing.ts';
import {
  compilePacks,
  compilePayments,
  type PackCatalog,
  type PaymentsConfig,
  packsSchema,
  paymentsSchema,
} from './packs.ts';

export const DEFAULT_KINDS = ['daily', 'free', 'subscription', 'promo', 'bonus', 'purchased'] as const;
export const DEFAULT_CREDIT_VALUE = { currency: 'USD', amount_minor_per_credit: '1' } as const;

const decimalString = (scale_max: number, what: string) =>
  z.union([z.string(), z.number()]).transform((value, context) => {
    const parsed = parseDecimal(value, scale_max);
    if (!parsed.ok || parsed.value.units < 0n) {
      context.addIssue({
        code: 'custom',
        message: `${what} must be a non-negative decimal with at most ${scale_max} decimals`,
      });
      return z.NEVER;
    }
    return parsed.value;
  });

const credits = (what: string, options: { allow_zero: boolean }) =>
  z.union([z.string(), z.number()]).transform((value, context) => {
    const parsed = parseCredits(value, options);
    if (!parsed.ok) {
      context.addIssue({
        code: 'custom',
        message: `${what} is not a valid amount of credits (${parsed.code})`,
      });
      return z.NEVER;
    }
    return parsed.micros;
  });

const dimensionName = z.string().min(1).max(IDENTIFIER_LENGTH_MAX);

const accountId = z.string().min(1).max(IDENTIFIER_LENGTH_MAX);
const demoAmount = z.union([z.string(), z.number()]);

/**
 * Demo data a preset brings (`tally serve --demo`, which `npm start` runs): accounts with their
 * grants, and teams with their members. Seeded once per database, through the same commands as
 * any data; a production configuration has none.
 */
const demoSchema = z
  .strictObject({
    accounts: z
      .array(
        z.strictObject({
          id: accountId.describe('The account id.'),
          kind: z.enum(['user', 'team']).default('user').describe('A user, or a team (one pool of credits).'),
          timezone: z.string().optional().describe('Its IANA timezone (days and months reset in it).'),
          grants: z
            .array(
              z.strictObject({
                kind: z.string().describe('The grant kind (one of `kinds`).'),
                amount: demoAmount.describe('Credits.'),
                reason: z.string().optional().describe('Why, as the grant records it.'),
              }),
            )
            .default([])
            .describe('Grants made once, on the first start.'),
          members: z
            .array(
              z.strictObject({
                account: accountId.describe('The member: a user account, made when missing.'),
                role: z.enum(['owner', 'admin', 'member']).describe('Their role in the team.'),
                limits: z
                  .strictObject({
                    day: demoAmount.optional().describe('Credits a day from the pool.'),
                    month: demoAmount.optional().describe('Credits a month from the pool.'),
                    billing_cycle: demoAmount.optional().describe('Credits a billing cycle from the pool.'),
                  })
                  .optional()
                  .describe("The member's own limits."),
              }),
            )
            .default([])
            .describe('On a team: its members (user accounts, made when missing), roles and own limits.'),
        }),
      )
      .default([])
      .describe('Accounts to seed.'),
  })
  .default({ accounts: [] })
  .describe('Demo data for `tally serve --demo`: accounts, their grants, teams and their members.');
const rates = z.record(dimensionName, decimalString(RATE_DECIMALS_MAX, 'a rate'));

/**
 * A provider's price in money (e.g. USD 2.50 per 1,000,000 input tokens), from which rates in
 * credits are derived: price ÷ per_units × markup ÷ credit value, rounded up to 12 decimals.
 */
const providerPrice = z
  .strictObject({
    per_units: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .default(1)
      .describe('How many units the provider prices at once (1000000 for "per million tokens").'),
    rates: z
      .record(dimensionName, decimalString(RATE_DECIMALS_MAX, 'a provider price'))
      .describe(
        "The provider's price per `per_units` units of each dimension, in the credit value's currency.",
      ),
  })
  .describe(
    'A price in money from which the rates in credits are derived: price ÷ per_units × markup ÷ credit value, rounded up to 12 decimals.',
  );

const pricedRates = {
  rates: rates
    .default({})
    .describe('Credits per unit of each usage dimension (input_tokens, images, seconds, …).'),
  flat_credits: decimalString(RATE_DECIMALS_MAX, 'flat_credits')
    .optional()
    .describe('Credits every run costs, whatever its usage.'),
  provider_price: providerPrice.optional(),
  markup: decimalString(6, 'markup')
    .optional()
    .describe('The factor applied to `provider_price` (1.3: 30 % on top).'),
};

const operationConfig = z.strictObject({
  name: z.string().max(200).optional().describe('What the price table calls the operation.'),
  description: z.string().max(500).optional().describe('One sentence for the price table.'),
  category: z
    .string()
    .max(IDENTIFIER_LENGTH_MAX)
    .default('general')
    .describe('Groups operations in the price table.'),
  ...pricedRates,
  add_ons: rates
    .default({})
    .describe('Credits an optional feature adds to a run that asks for it (web_search: 15).'),
  models: z
    .record(
      z.string().min(1).max(IDENTIFIER_LENGTH_MAX),
      // A model may need an entitlement of its own (a premium model of an everyday operation).
      z.strictObject({
        ...pricedRates,
        requires_entitlement: z
          .string()
          .max(IDENTIFIER_LENGTH_MAX)
          .optional()
          .describe('An entitlement this model needs, in place of the operation’s.'),
      }),
    )
    .default({})
    .describe('Prices per model, in place of the operation’s own rates when a run names that model.'),
  min_credits: credits('min_credits', { allow_zero: true }).optional().describe('The least a run costs.'),
  max_credits: credits('max_credits', { allow_zero: true })
    .optional()
    .describe('The most a run costs; also what a reservation without max_credits holds.'),
  rounding: z
    .strictObject({
      mode: z.enum(['none', 'up', 'down', 'nearest']).describe('How a run’s cost is rounded to the step.'),
      step_credits: credits('step_credits', { allow_zero: false })
        .default(1n)
        .describe('The step, in credits.'),
    })
    .default({ mode: 'none', step_credits: 1n })
    .describe('Rounding of each run’s cost, after rates and add-ons.'),
  failed_run: z
    .union([
      z.strictObject({
        policy: z
          .enum(['none', 'full'])
          .describe('`none`: a failed run is free; `full`: it costs what it used.'),
      }),
      z.strictObject({
        policy: z.literal('fixed').describe('A failed run costs `credits`, whatever it used.'),
        credits: credits('failed_run.credits', { allow_zero: true }).describe(
          'What a failed run costs under `fixed`.',
        ),
      }),
    ])
    .default({ policy: 'none' })
    .describe('What a failed run costs: `none`, `full`, or `fixed` with `credits`.'),
  no_progress: z
    .strictObject({
      after_identical: z
        .number()
        .int()
        .min(1)
        .max(20)
        .describe('How many near-identical runs of the operation in a row in one thread come before it.'),
      credits: credits('no_progress.credits', { allow_zero: true }).describe(
        'What such a run costs (0: free); never more than its own price.',
      ),
    })
    .optional()
    .describe(
      'No-progress policy: a run that fails, or settles with no output, after `after_identical` near-identical runs in its thread is charged `credits` (a retry loop the user should not pay for). Shown in the price table.',
    ),
  requires_entitlement: z
    .string()
    .max(IDENTIFIER_LENGTH_MAX)
    .optional()
    .describe('An entitlement (from a plan) an account needs to run it.'),
  creator_share: z
    .strictObject({
      basis: z
        .enum(['cost', 'premium'])
        .describe('`cost`: the share is carved out of what the user pays; `premium`: it is added on top.'),
      rate: decimalString(6, 'creator_share.rate').describe('The share, as a fraction (0.1: 10 %).'),
    })
    .refine((share) => share.basis === 'premium' || share.rate.units <= 10n ** BigInt(share.rate.scale), {
      message: 'a creator share of basis cost is at most 1 (all of the cost)',
    })
    .optional()
    .describe(
      "The creator's share of a run on their prompt or app: carved out of the cost, or a premium on top.",
    ),
  example_usage: z
    .record(dimensionName, decimalString(USAGE_DECIMALS_MAX, 'example usage'))
    .default({})
    .describe(
      'A typical run’s usage: the price table prices it, and estimates use it before an account has history.',
    ),
});

const creditValueSchema = z.strictObject({
  currency: z
    .string()
    .length(3)
    .toUpperCase()
    .refine((code) => currencyExponent(code) !== undefined, 'is not an ISO 4217 currency code')
    .describe('An ISO 4217 currency code.'),
  amount_minor_per_credit: decimalString(CREDIT_DECIMALS_MAX, 'amount_minor_per_credit')
    .refine((value) => value.units > 0n, 'must be positive')
    .describe("Money one credit is worth, in the currency's minor unit (1 = one US cent)."),
});

/** One price book version, as written in the configuration or published through the service. */
export const priceBookSchema = z.strictObject({
  version: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe('The version number; a published version never changes, so changed prices need a new one.'),
  effective_at: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('When the version takes effect (RFC 3339).'),
  credit_value: creditValueSchema
    .optional()
    .describe(
      "Part of each version, so a change of credit value is a new version. Defaults to the configuration's.",
    ),
  operations: z
    .record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), operationConfig)
    .describe('Every operation a run can be, by id (`chat.message`, `image.generate`).'),
});

const allowanceSchema = z.strictObject({
  id: z.string().min(1).max(IDENTIFIER_LENGTH_MAX).describe('Names the allowance (its grants carry it).'),
  kind: z
    .string()
    .min(1)
    .max(IDENTIFIER_LENGTH_MAX)
    .describe('The grant kind its credits are (one of `kinds`).'),
  amount: credits('allowance amount', { allow_zero: false }).describe('Credits each period.'),
  period: z
    .enum(['daily', 'weekly', 'monthly', 'billing_cycle'])
    .describe('How often it is granted, in the account’s timezone (`billing_cycle`: with the subscription).'),
  month_starts: z
    .enum(['signup', 'calendar'])
    .default('signup')
    .describe(
      "Where a monthly period starts: `signup`, on the account's own anniversary (its sign-up, or its plan's start); `calendar`, on the 1st.",
    ),
  expires: z
    .union([
      z.enum(['period_end', 'never']),
      z.strictObject({
        after_days: z.number().int().min(1).max(3_650).describe("Days from the period's start."),
      }),
    ])
    .default('period_end')
    .describe(
      "When its credits expire: `period_end`, `never`, or `{ after_days: N }` from the period's start.",
    ),
  rollover: z
    .union([
      z.enum(['none', 'full']),
      z.strictObject({
        max_credits: credits('rollover max_credits', { allow_zero: false }).describe(
          'The most credits carried into the next period.',
        ),
        max_periods: z
          .number()
          .int()
          .min(1)
          .max(120)
          .optional()
          .describe('How many periods carried credits survive (none: until used or expired).'),
      }),
    ])
    .default('none')
    .describe(
      'What is left carries into the next period: `none`, `full`, or `{ max_credits, max_periods? }`.',
    ),
  reset: z.boolean().default(false).describe('Whether a new period first takes back what the last one left.'),
  requires_subscription: z
    .boolean()
    .default(false)
    .describe('Whether its credits are usable only while the account’s subscription is active.'),
});

const scopeList = (what: string) =>
  z
    .array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX))
    .min(1)
    .optional()
    .describe(`Only credits spent ${what}.`);
const scopeOne = (what: string) =>
  z.string().min(1).max(IDENTIFIER_LENGTH_MAX).optional().describe(`Only credits spent ${what}.`);

const limitSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(IDENTIFIER_LENGTH_MAX)
    .describe('Names the limit (refusals and events carry it).'),
  window: z
    .enum(['day', 'week', 'month', 'billing_cycle', 'rolling_24h'])
    .describe(
      'The window spending is counted in, in the account’s timezone (`rolling_24h`: the last 24 hours).',
    ),
  max: credits('limit max', { allow_zero: true }).describe('The most credits spent in a window.'),
  kinds: scopeList('from these grant kinds'),
  operations: scopeList('on these operations'),
  member: scopeOne('by this team member'),
  project: scopeOne('on this project (run metadata)'),
  api_key: scopeOne('through this API key'),
});

const planSchema = z.strictObject({
  name: z.string().max(200).optional().describe('What the plan is called where customers see it.'),
  price: z
    .strictObject({
      currency: z.string().length(3).toUpperCase().describe('An ISO 4217 currency code.'),
      amount_minor: z.number().int().min(0).describe('The price in the currency’s minor unit.'),
    })
    .describe('Its price per billing cycle, in minor units (1900 = USD 19).'),
  rank: z
    .number()
    .int()
    .min(0)
    .max(1_000)
    .describe(
      'Higher ranks are upgrades (take effect at once, prorated), lower ones downgrades (at period end).',
    ),
  allowances: z.array(allowanceSchema).default([]).describe('Allowances its subscribers receive.'),
  limits: z.array(limitSchema).default([]).describe('Limits on its subscribers.'),
  entitlements: z
    .array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX))
    .default([])
    .describe('What it unlocks: operations and models that require these run only for its subscribers.'),
});

const proxyUpstreamSchema = z.strictObject({
  base_url: z.url().describe('The OpenAI-compatible API the calls go to, e.g. https://api.openai.com/v1.'),
  api_key_env: z
    .string()
    .max(IDENTIFIER_LENGTH_MAX)
    .optional()
    .describe('The environment variable holding its API key (never the key itself).'),
  include_usage: z
    .boolean()
    .default(true)
    .describe(
      'Whether it accepts `stream_options.include_usage` (the proxy asks for usage on every stream).',
    ),
});

const proxyModelSchema = z.strictObject({
  upstream: z.string().min(1).max(IDENTIFIER_LENGTH_MAX).describe('Which of `proxy.upstreams` serves it.'),
  model: z
    .string()
    .min(1)
    .max(IDENTIFIER_LENGTH_MAX)
    .optional()
    .describe("The model's name there (default: the same)."),
  operation: z
    .string()
    .min(1)
    .max(IDENTIFIER_LENGTH_MAX)
    .describe('The price book operation that prices its calls.'),
  price_model: z
    .string()
    .min(1)
    .max(IDENTIFIER_LENGTH_MAX)
    .optional()
    .describe(
      "The operation's model that prices it (default: the same name, when the operation prices per model).",
    ),
  max_output_tokens: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .describe("The model's own output ceiling: a larger max_tokens is clamped to it."),
  web_search_add_on: z
    .string()
    .min(1)
    .max(IDENTIFIER_LENGTH_MAX)
    .optional()
    .describe(
      "The operation's add-on a call with `web_search_options` is priced with (OpenAI's web search).",
    ),
  default_max_tokens: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .optional()
    .describe('What a call that sets no max_tokens is held for (default: max_output_tokens).'),
});

export const tallyConfigSchema = z.strictObject({
  kinds: z
    .array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX))
    .min(1)
    .default([...DEFAULT_KINDS])
    .describe('Grant kinds in draw-down order: the first is drawn first (before expiry and creation order).'),
  credit_value: creditValueSchema
    .default(DEFAULT_CREDIT_VALUE as never)
    .describe('What one credit is worth in money: the price table, estimates and history show both.'),
  settlement: z
    .strictObject({
      overage: z
        .enum(['cap', 'draw'])
        .default('cap')
        .describe(
          '`cap`: a run never costs more than was reserved (what the user was shown). `draw`: the excess is drawn from the balance.',
        ),
    })
    .default({ overage: 'cap' })
    .describe('How a run that cost more than its reservation is settled.'),
  events: z
    .strictObject({
      expiring_soon_days: z
        .number()
        .int()
        .min(0)
        .max(365)
        .default(3)
        .describe('grant.expiring_soon fires this many days before a grant with credits left expires.'),
    })
    .default({ expiring_soon_days: 3 })
    .describe('When events fire.'),
  webhooks: z
    .strictObject({
      allow_loopback: z
        .boolean()
        .default(false)
        .describe(
          'Lets webhook endpoints be loopback addresses (127.0.0.0/8, ::1, localhost), for tests and local development only. Private, link-local and metadata addresses are refused regardless.',
        ),
    })
    .default({ allow_loopback: false })
    .describe('Where webhooks may be delivered.'),
  allowances: z
    .array(allowanceSchema)
    .default([])
    .describe('Allowances every account receives, plan or not (free monthly credits, daily credits).'),
  limits: z
    .array(limitSchema)
    .default([])
    .describe('Limits on every account (the daily cap on free credits).'),
  plans: z
    .record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), planSchema)
    .default({})
    .describe('Subscription plans, by id.'),
  price_book: priceBookSchema
    .optional()
    .describe('The price book: its first version, or the next one when its prices change.'),
  packs: packsSchema,
  payments: paymentsSchema,
  creators: z
    .strictObject({
      payout_hold_days: z
        .number()
        .int()
        .min(0)
        .max(365)
        .default(14)
        .describe(
          'Earnings are payable only this many days after the run (the refund window): a refund within it takes the share back before it can be paid.',
        ),
      earnings_kind: z
        .string()
        .min(1)
        .max(IDENTIFIER_LENGTH_MAX)
        .optional()
        .describe(
          'When set, a payout may be taken as spendable credits of this kind (a non-expiring grant to the creator) instead of money.',
        ),
    })
    .default({ payout_hold_days: 14 })
    .describe(
      "Creators' earnings (SPEC C10): when they become payable, and whether they may be paid as credits.",
    ),
  demo: demoSchema,
  proxy: z
    .strictObject({
      upstreams: z
        .record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), proxyUpstreamSchema)
        .describe('The providers calls go to, by a name of your choosing.'),
      models: z
        .record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), proxyModelSchema)
        .describe(
          'Every model callers may name, by the name they use: adding a model is configuration, not code.',
        ),
    })
    .optional()
    .describe(
      'The metering proxy (`/v1/chat/completions`): which upstream serves each model, and what prices it.',
    ),
});

export type TallyConfigInput = z.input<typeof tallyConfigSchema>;
export type PriceBookInput = z.input<typeof priceBookSchema>;

export interface PriceBook {
  version: number;
  effective_at_ms: number;
  credit_value: CreditValue;
  operations: ReadonlyMap<string, OperationPrice>;
}

export interface TallyConfig {
  kinds: readonly string[];
  overage: 'cap' | 'draw';
  expiring_soon_days: number;
  /** Where webhooks may be delivered (service/webhook-targets.ts). */
  webhook_targets: { allow_loopback: boolean };
  /** Grants that refunds create are of this kind (SPEC: non-expiring bonus). */
  refund_kind: string;
  /** The configuration's price book version, in the canonical form it is stored in. */
  price_book_document: PriceBookDocument;
  allowances: AllowanceRule[];
  limits: LimitRule[];
  plans: ReadonlyMap<string, Plan>;
  /** The metering proxy's routes by model, or null when it is not configured. */
  proxy: ProxyConfig | null;
  /** Credit packs on sale (schema/packs.ts). */
  packs: PackCatalog;
  payments: PaymentsConfig;
  creators: { payout_hold_days: number; earnings_kind: string | undefined };
  /** Demo data `tally serve --demo` seeds (cli/demo.ts). */
  demo: DemoData;
}

export type DemoData = z.output<typeof demoSchema>;

/** Where the proxy sends a model's calls, and what prices them. */
export interface ProxyRoute {
  /** The model as callers name it. */
  id: string;
  upstream: { id: string; base_url: string; api_key_env: string | undefined; include_usage: boolean };
  /** The model's name upstream. */
  upstream_model: string;
  operation: string;
  /** The operation's model that prices it, if it prices per model. */
  price_model: string | undefined;
  max_output_tokens: number;
  default_max_tokens: number;
  /** The add-on a call asking for web search is priced with. */
  web_search_add_on: string | undefined;
}

export interface ProxyConfig {
  models: ReadonlyMap<string, ProxyRoute>;
}

function compileProxy(proxy: z.output<typeof tallyConfigSchema>['proxy']): ProxyConfig | null {
  if (!proxy) return null;
  const models = new Map<string, ProxyRoute>();
  for (const [id, model] of Object.entries(proxy.models)) {
    const upstream = proxy.upstreams[model.upstream];
    if (!upstream)
      throw new ConfigError(
        `invalid configuration: proxy model ${id} names upstream ${model.upstream}, which is not in proxy.upstreams`,
      );
    models.set(id, {
      id,
      upstream: { id: model.upstream, api_key_env: upstream.api_key_env, ...upstream },
      upstream_model: model.model ?? id,
      operation: model.operation,
      price_model: model.price_model,
      max_output_tokens: model.max_output_tokens,
      default_max_tokens: Math.min(
        model.default_max_tokens ?? model.max_output_tokens,
        model.max_output_tokens,
      ),
      web_search_add_on: model.web_search_add_on,
    });
  }
  return { models };
}

/**
 * A price book version as stored: the input with its version, effective time and credit value
 * filled in. Rates derived from provider prices are recomputed from it identically every time.
 */
export interface PriceBookDocument {
  version: number;
  effective_at: string;
  credit_value: { currency: string; amount_minor_per_credit: string };
  operations: Record<string, unknown>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Nothing said which configuration to run with: none given, none stored, no default allowed. */
export class ConfigurationMissing extends ConfigError {
  override name = 'ConfigurationMissing';
  constructor() {
    super('no configuration given, and the database holds none');
  }
}

function failure(what: string, issues: readonly z.core.$ZodIssue[]): ConfigError {
  const lines = issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return new ConfigError(`invalid ${what}:\n${lines.join('\n')}`);
}

const ZERO: Decimal = { units: 0n, scale: 0 };

type PricedRates = {
  rates: Record<string, Decimal>;
  provider_price?: z.output<typeof providerPrice>;
  markup?: Decimal;
};

/** Rates given in credits plus rates derived from a provider price; a dimension may not be given both ways. */
function compileRates(
  where: string,
  priced: PricedRates,
  credit_value: CreditValue,
): { rates: Map<string, Decimal>; provider_price: ProviderPrice | undefined } {
  const compiled = new Map(Object.entries(priced.rates));
  if (!priced.provider_price) {
    if (priced.markup)
      throw new ConfigError(`invalid price book: ${where} has a markup but no provider_price`);
    return { rates: compiled, provider_price: undefined };
  }
  const markup = priced.markup ?? { units: 1n, scale: 0 };
  const { per_units } = priced.provider_price;
  const provider_rates = new Map(Object.entries(priced.provider_price.rates));
  for (const [dimension, price] of provider_rates) {
    if (compiled.has(dimension)) {
      throw new ConfigError(
        `invalid price book: ${where} prices ${dimension} both in credits and by provider price`,
      );
    }
    compiled.set(dimension, deriveRate(price, per_units, markup, credit_value));
  }
  return { rates: compiled, provider_price: { per_units, rates: provider_rates, markup } };
}

function compileOperation(
  id: string,
  config: z.output<typeof operationConfig>,
  credit_value: CreditValue,
): OperationPrice {
  if (
    config.min_credits !== undefined &&
    config.max_credits !== undefined &&
    config.min_credits > config.max_credits
  ) {
    throw new ConfigError(`invalid price book: ${id} has min_credits above max_credits`);
  }
  const models = new Map<string, ModelPrice>();
  for (const [model, price] of Object.entries(config.models)) {
    const compiled = compileRates(`${id} model ${model}`, price, credit_value);
    models.set(model, {
      rates: compiled.rates,
      flat: price.flat_credits,
      provider_price: compiled.provider_price,
      requires_entitlement: price.requires_entitlement,
    });
  }
  const failed_run: FailedRunPolicy =
    config.failed_run.policy === 'fixed'
      ? { policy: 'fixed', micros: config.failed_run.credits }
      : { policy: config.failed_run.policy };
  const compiled = compileRates(id, config, credit_value);
  return {
    id,
    name: config.name ?? id,
    description: config.description,
    category: config.category,
    rates: compiled.rates,
    provider_price: compiled.provider_price,
    flat: config.flat_credits ?? ZERO,
    add_ons: new Map(Object.entries(config.add_ons)),
    models,
    min_micros: config.min_credits,
    max_micros: config.max_credits,
    rounding: { mode: config.rounding.mode, step_micros: config.rounding.step_credits },
    failed_run,
    no_progress: config.no_progress && {
      after_identical: config.no_progress.after_identical,
      micros: config.no_progress.credits,
    },
    requires_entitlement: config.requires_entitlement,
    creator_share: config.creator_share,
    example_usage: new Map(Object.entries(config.example_usage)),
  };
}

/**
 * Validates a price book version and fills in what it left out (version, effective time,
 * credit value), giving the document stored for that version. Throws ConfigError.
 */
export function priceBookDocument(
  input: unknown,
  defaults: { version: number; effective_at: string; credit_value: PriceBookDocument['credit_value'] },
): PriceBookDocument {
  const result = priceBookSchema.safeParse(input);
  if (!result.success) throw failure('price book', result.error.issues);
  const raw = input as {
    version?: number;
    effective_at?: string;
    credit_value?: PriceBookDocument['credit_value'];
  };
  const document: PriceBookDocument = {
    version: raw.version ?? defaults.version,
    effective_at: new Date(Date.parse(raw.effective_at ?? defaults.effective_at)).toISOString(),
    credit_value: raw.credit_value ?? defaults.credit_value,
    operations: (input as { operations: Record<string, unknown> }).operations,
  };
  compilePriceBook(document);
  return document;
}

/** Compiles a stored price book document into exact domain types. Throws ConfigError. */
export function compilePriceBook(document: PriceBookDocument): PriceBook {
  const result = priceBookSchema.safeParse(document);
  if (!result.success) throw failure('price book', result.error.issues);
  const book = result.data;
  const credit_value = book.credit_value!;
  const operations = new Map<string, OperationPrice>();
  for (const [id, operation] of Object.entries(book.operations)) {
    operations.set(id, compileOperation(id, operation, credit_value));
  }
  return {
    version: book.version!,
    effective_at_ms: Date.parse(book.effective_at!),
    credit_value,
    operations,
  };
}

function compileAllowance(rule: z.output<typeof allowanceSchema>): AllowanceRule {
  const rollover: Rollover =
    rule.rollover === 'none' || rule.rollover === 'full'
      ? { mode: rule.rollover }
      : {
          mode: 'capped',
          max_micros: rule.rollover.max_credits,
          max_periods: rule.rollover.max_periods ?? null,
        };
  return {
    id: rule.id,
    kind: rule.kind,
    amount_micros: rule.amount,
    period: rule.period === 'monthly' && rule.month_starts === 'signup' ? 'monthly_anniversary' : rule.period,
    expires: typeof rule.expires === 'string' ? { at: rule.expires } : rule.expires,
    rollover,
    reset: rule.reset,
    requires_subscription: rule.requires_subscription,
  };
}

export function compileLimit(rule: z.output<typeof limitSchema>): LimitRule {
  return {
    id: rule.id,
    window: rule.window,
    max_micros: rule.max,
    kinds: rule.kinds ?? null,
    operations: rule.operations ?? null,
    member: rule.member ?? null,
    project: rule.project ?? null,
    api_key: rule.api_key ?? null,
  };
}

const invalid = (message: string): never => {
  throw new ConfigError(`invalid configuration: ${message}`);
};

function checkKinds(where: string, kinds: readonly string[], used: readonly (string | null)[]): void {
  for (const kind of used) {
    if (kind !== null && !kinds.includes(kind))
      throw new ConfigError(`invalid configuration: ${where} uses kind ${kind}, not in kinds`);
  }
}

/** Validates and compiles a configuration; throws ConfigError naming every bad field. */
export function compileConfig(input: unknown): TallyConfig {
  const result = tallyConfigSchema.safeParse(input ?? {});
  if (!result.success) throw failure('configuration', result.error.issues);
  const config = result.data;
  if (new Set(config.kinds).size !== config.kinds.length)
    throw new ConfigError('invalid configuration: kinds repeat');
  const refund_kind = config.kinds.includes('bonus') ? 'bonus' : config.kinds[config.kinds.length - 1]!;
  const raw_credit_value = (input as { credit_value?: PriceBookDocument['credit_value'] } | undefined)
    ?.credit_value;
  const allowances = config.allowances.map(compileAllowance);
  const limits = config.limits.map(compileLimit);
  const plans = new Map<string, Plan>();
  for (const [id, plan] of Object.entries(config.plans)) {
    plans.set(id, {
      id,
      name: plan.name ?? id,
      price: plan.price,
      rank: plan.rank,
      allowances: plan.allowances.map(compileAllowance),
      limits: plan.limits.map(compileLimit),
      entitlements: plan.entitlements,
    });
  }
  const every_allowance = [...allowances, ...[...plans.values()].flatMap((plan) => plan.allowances)];
  checkKinds(
    'an allowance',
    config.kinds,
    every_allowance.map((rule) => rule.kind),
  );
  checkKinds(
    'a limit',
    config.kinds,
    [...limits, ...[...plans.values()].flatMap((plan) => plan.limits)].flatMap((rule) => rule.kinds ?? []),
  );
  if (config.creators.earnings_kind !== undefined) {
    checkKinds('creators.earnings_kind', config.kinds, [config.creators.earnings_kind]);
  }
  if (allowances.some((rule) => rule.period === 'billing_cycle')) {
    throw new ConfigError(
      'invalid configuration: billing_cycle allowances belong to plans, which have billing cycles',
    );
  }
  return {
    kinds: config.kinds,
    allowances,
    limits,
    plans,
    overage: config.settlement.overage,
    expiring_soon_days: config.events.expiring_soon_days,
    webhook_targets: { allow_loopback: config.webhooks.allow_loopback },
    refund_kind,
    proxy: compileProxy(config.proxy),
    packs: compilePacks(config.packs, config.kinds, invalid),
    payments: compilePayments(config.payments, invalid),
    demo: config.demo,
    creators: {
      payout_hold_days: config.creators.payout_hold_days,
      earnings_kind: config.creators.earnings_kind,
    },
    // From the input as written: the document is stored as given, and compiled again from it.
    price_book_document: priceBookDocument(
      (input as { price_book?: unknown }).price_book ?? { operations: {} },
      {
        version: 1,
        effective_at: '1970-01-01T00:00:00Z',
        credit_value: raw_credit_value ?? DEFAULT_CREDIT_VALUE,
      },
    ),
  };
}
