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
const rates = z.record(dimensionName, decimalString(RATE_DECIMALS_MAX, 'a rate'));

/**
 * A provider's price in money (e.g. USD 2.50 per 1,000,000 input tokens), from which rates in
 * credits are derived: price ÷ per_units × markup ÷ credit value, rounded up to 12 decimals.
 */
const providerPrice = z.strictObject({
  per_units: z.number().int().min(1).max(1_000_000_000).default(1),
  rates: z.record(dimensionName, decimalString(RATE_DECIMALS_MAX, 'a provider price')),
});

const pricedRates = {
  rates: rates.default({}),
  flat_credits: decimalString(RATE_DECIMALS_MAX, 'flat_credits').optional(),
  provider_price: providerPrice.optional(),
  markup: decimalString(6, 'markup').optional(),
};

const operationConfig = z.strictObject({
  name: z.string().max(200).optional(),
  description: z.string().max(500).optional(),
  category: z.string().max(IDENTIFIER_LENGTH_MAX).default('general'),
  ...pricedRates,
  add_ons: rates.default({}),
  models: z
    .record(
      z.string().min(1).max(IDENTIFIER_LENGTH_MAX),
      // A model may need an entitlement of its own (a premium model of an everyday operation).
      z.strictObject({
        ...pricedRates,
        requires_entitlement: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
      }),
    )
    .default({}),
  min_credits: credits('min_credits', { allow_zero: true }).optional(),
  max_credits: credits('max_credits', { allow_zero: true }).optional(),
  rounding: z
    .strictObject({
      mode: z.enum(['none', 'up', 'down', 'nearest']),
      step_credits: credits('step_credits', { allow_zero: false }).default(1n),
    })
    .default({ mode: 'none', step_credits: 1n }),
  failed_run: z
    .union([
      z.strictObject({ policy: z.enum(['none', 'full']) }),
      z.strictObject({
        policy: z.literal('fixed'),
        credits: credits('failed_run.credits', { allow_zero: true }),
      }),
    ])
    .default({ policy: 'none' }),
  requires_entitlement: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  /** The creator's share of a run on their prompt or app: carved out of the cost, or a premium on top. */
  creator_share: z
    .strictObject({ basis: z.enum(['cost', 'premium']), rate: decimalString(6, 'creator_share.rate') })
    .optional(),
  example_usage: z.record(dimensionName, decimalString(USAGE_DECIMALS_MAX, 'example usage')).default({}),
});

const creditValueSchema = z.strictObject({
  currency: z
    .string()
    .length(3)
    .toUpperCase()
    .refine((code) => currencyExponent(code) !== undefined, 'is not an ISO 4217 currency code'),
  /** Money one credit is worth, in the currency's minor unit (1 = one US cent). */
  amount_minor_per_credit: decimalString(CREDIT_DECIMALS_MAX, 'amount_minor_per_credit').refine(
    (value) => value.units > 0n,
    'must be positive',
  ),
});

/** One price book version, as written in the configuration or published through the service. */
export const priceBookSchema = z.strictObject({
  version: z.number().int().min(1).max(1_000_000).optional(),
  effective_at: z.iso.datetime({ offset: true }).optional(),
  /** Part of each version, so a change of credit value is a new version. Defaults to the configuration's. */
  credit_value: creditValueSchema.optional(),
  operations: z.record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), operationConfig),
});

const allowanceSchema = z.strictObject({
  id: z.string().min(1).max(IDENTIFIER_LENGTH_MAX),
  kind: z.string().min(1).max(IDENTIFIER_LENGTH_MAX),
  amount: credits('allowance amount', { allow_zero: false }),
  period: z.enum(['daily', 'weekly', 'monthly', 'billing_cycle']),
  /**
   * Where a monthly period starts. `signup` (default): on the account's own anniversary (its
   * sign-up, or its plan's start), in its timezone, so "expires after 30 days" means 30 days from
   * when the credits arrived. `calendar`: on the 1st of each month.
   */
  month_starts: z.enum(['signup', 'calendar']).default('signup'),
  /** `period_end` (default), `never`, or `{ after_days: N }` counted from the period's start. */
  expires: z
    .union([
      z.enum(['period_end', 'never']),
      z.strictObject({ after_days: z.number().int().min(1).max(3_650) }),
    ])
    .default('period_end'),
  /** `none` (default), `full`, or `{ max_credits, max_periods? }`: what is left carries into the next period. */
  rollover: z
    .union([
      z.enum(['none', 'full']),
      z.strictObject({
        max_credits: credits('rollover max_credits', { allow_zero: false }),
        max_periods: z.number().int().min(1).max(120).optional(),
      }),
    ])
    .default('none'),
  reset: z.boolean().default(false),
  requires_subscription: z.boolean().default(false),
});

const limitSchema = z.strictObject({
  id: z.string().min(1).max(IDENTIFIER_LENGTH_MAX),
  window: z.enum(['day', 'week', 'month', 'billing_cycle', 'rolling_24h']),
  max: credits('limit max', { allow_zero: true }),
  kinds: z.array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX)).min(1).optional(),
  operations: z.array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX)).min(1).optional(),
  member: z.string().min(1).max(IDENTIFIER_LENGTH_MAX).optional(),
  project: z.string().min(1).max(IDENTIFIER_LENGTH_MAX).optional(),
  api_key: z.string().min(1).max(IDENTIFIER_LENGTH_MAX).optional(),
});

const planSchema = z.strictObject({
  name: z.string().max(200).optional(),
  price: z.strictObject({
    currency: z.string().length(3).toUpperCase(),
    amount_minor: z.number().int().min(0),
  }),
  rank: z.number().int().min(0).max(1_000),
  allowances: z.array(allowanceSchema).default([]),
  limits: z.array(limitSchema).default([]),
  entitlements: z.array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX)).default([]),
});

export const tallyConfigSchema = z.strictObject({
  /** Grant kinds in draw-down order: the first is drawn first. */
  kinds: z
    .array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX))
    .min(1)
    .default([...DEFAULT_KINDS]),
  credit_value: creditValueSchema.default(DEFAULT_CREDIT_VALUE as never),
  settlement: z
    .strictObject({
      /** `cap`: a run never costs more than was reserved (what the user was shown). `draw`: the excess is drawn from the balance. */
      overage: z.enum(['cap', 'draw']).default('cap'),
    })
    .default({ overage: 'cap' }),
  events: z
    .strictObject({
      /** grant.expiring_soon fires this many days before a grant with credits left expires. */
      expiring_soon_days: z.number().int().min(0).max(365).default(3),
    })
    .default({ expiring_soon_days: 3 }),
  webhooks: z
    .strictObject({
      /**
       * Lets webhook endpoints be loopback addresses (127.0.0.0/8, ::1, localhost): for tests and
       * local development only. Private, link-local and metadata addresses are refused regardless.
       */
      allow_loopback: z.boolean().default(false),
    })
    .default({ allow_loopback: false }),
  /** Allowances every account receives, plan or not (free monthly credits, daily credits). */
  allowances: z.array(allowanceSchema).default([]),
  /** Limits on every account (the daily cap on free credits). */
  limits: z.array(limitSchema).default([]),
  plans: z.record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), planSchema).default({}),
  price_book: z.unknown().optional(),
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
    price_book_document: priceBookDocument(config.price_book ?? { operations: {} }, {
      version: 1,
      effective_at: '1970-01-01T00:00:00Z',
      credit_value: raw_credit_value ?? DEFAULT_CREDIT_VALUE,
    }),
  };
}
