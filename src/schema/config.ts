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
import type { FailedRunPolicy, ModelPrice, OperationPrice } from '../domain/pricing.ts';

export const DEFAULT_KINDS = ['daily', 'free', 'subscription', 'promo', 'bonus', 'purchased'] as const;

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

const rate = decimalString(RATE_DECIMALS_MAX, 'a rate');
const credits = z.union([z.string(), z.number()]).transform((value, context) => {
  const parsed = parseCredits(value, { allow_zero: true });
  if (!parsed.ok) {
    context.addIssue({ code: 'custom', message: `an amount of credits is invalid (${parsed.code})` });
    return z.NEVER;
  }
  return parsed.micros;
});
const rates = z.record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), rate);

const operationConfig = z.strictObject({
  name: z.string().max(200).optional(),
  category: z.string().max(IDENTIFIER_LENGTH_MAX).default('general'),
  rates: rates.default({}),
  flat_credits: rate.optional(),
  add_ons: rates.default({}),
  models: z
    .record(z.string(), z.strictObject({ rates: rates.default({}), flat_credits: rate.optional() }))
    .default({}),
  min_credits: credits.optional(),
  max_credits: credits.optional(),
  rounding: z
    .strictObject({
      mode: z.enum(['none', 'up', 'down', 'nearest']),
      step_credits: z
        .union([z.string(), z.number()])
        .default('0.000001')
        .transform((value, context) => {
          const parsed = parseCredits(value);
          if (!parsed.ok) {
            context.addIssue({
              code: 'custom',
              message: 'rounding step must be a positive amount of credits',
            });
            return z.NEVER;
          }
          return parsed.micros;
        }),
    })
    .default({ mode: 'none', step_credits: 1n }),
  failed_run: z
    .union([
      z.strictObject({ policy: z.enum(['none', 'full']) }),
      z.strictObject({ policy: z.literal('fixed'), credits }),
    ])
    .default({ policy: 'none' }),
  requires_entitlement: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  example_usage: z.record(z.string(), decimalString(USAGE_DECIMALS_MAX, 'example usage')).default({}),
});

const priceBookSchema = z.strictObject({
  version: z.number().int().min(1).default(1),
  effective_at: z.iso.datetime({ offset: true }).default('1970-01-01T00:00:00Z'),
  operations: z.record(z.string().min(1).max(IDENTIFIER_LENGTH_MAX), operationConfig).default({}),
});

export const tallyConfigSchema = z.strictObject({
  /** Grant kinds in draw-down order: the first is drawn first. */
  kinds: z
    .array(z.string().min(1).max(IDENTIFIER_LENGTH_MAX))
    .min(1)
    .default([...DEFAULT_KINDS]),
  credit_value: z
    .strictObject({
      currency: z.string().length(3).toUpperCase(),
      amount_minor_per_credit: decimalString(CREDIT_DECIMALS_MAX, 'amount_minor_per_credit'),
    })
    .default({ currency: 'USD', amount_minor_per_credit: { units: 1n, scale: 0 } }),
  settlement: z
    .strictObject({
      /** `cap`: a run never costs more than was reserved (what the user was shown). `draw`: the excess is drawn from the balance. */
      overage: z.enum(['cap', 'draw']).default('cap'),
    })
    .default({ overage: 'cap' }),
  price_book: priceBookSchema.default({ version: 1, effective_at: '1970-01-01T00:00:00Z', operations: {} }),
});

export type TallyConfigInput = z.input<typeof tallyConfigSchema>;

export interface PriceBook {
  version: number;
  effective_at_ms: number;
  operations: ReadonlyMap<string, OperationPrice>;
}

export interface CreditValue {
  currency: string;
  amount_minor_per_credit: Decimal;
}

export interface TallyConfig {
  kinds: readonly string[];
  credit_value: CreditValue;
  overage: 'cap' | 'draw';
  /** Grants that refunds create are of this kind (SPEC: non-expiring bonus). */
  refund_kind: string;
  price_book: PriceBook;
  /** The price book as written in the configuration, stored verbatim as its version's document. */
  price_book_document: unknown;
}

const ZERO: Decimal = { units: 0n, scale: 0 };

function toMap<Value>(record: Record<string, Value>): Map<string, Value> {
  return new Map(Object.entries(record));
}

function compileOperation(id: string, config: z.output<typeof operationConfig>): OperationPrice {
  const models = new Map<string, ModelPrice>();
  for (const [model, price] of Object.entries(config.models)) {
    models.set(model, { rates: toMap(price.rates), flat: price.flat_credits });
  }
  const failed_run: FailedRunPolicy =
    config.failed_run.policy === 'fixed'
      ? { policy: 'fixed', micros: config.failed_run.credits }
      : { policy: config.failed_run.policy };
  return {
    id,
    name: config.name ?? id,
    category: config.category,
    rates: toMap(config.rates),
    flat: config.flat_credits ?? ZERO,
    add_ons: toMap(config.add_ons),
    models,
    min_micros: config.min_credits,
    max_micros: config.max_credits,
    rounding: { mode: config.rounding.mode, step_micros: config.rounding.step_credits },
    failed_run,
    requires_entitlement: config.requires_entitlement,
    example_usage: toMap(config.example_usage),
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function failure(issues: readonly z.core.$ZodIssue[]): ConfigError {
  const lines = issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

function compileParsedPriceBook(price_book: z.output<typeof priceBookSchema>): PriceBook {
  const operations = new Map<string, OperationPrice>();
  for (const [id, operation] of Object.entries(price_book.operations)) {
    if (
      operation.min_credits !== undefined &&
      operation.max_credits !== undefined &&
      operation.min_credits > operation.max_credits
    ) {
      throw new ConfigError(`invalid configuration: ${id} has min_credits above max_credits`);
    }
    operations.set(id, compileOperation(id, operation));
  }
  return { version: price_book.version, effective_at_ms: Date.parse(price_book.effective_at), operations };
}

/** Validates and compiles one price book version; throws ConfigError naming every bad field. */
export function compilePriceBook(input: unknown): PriceBook {
  const result = priceBookSchema.safeParse(input ?? {});
  if (!result.success) throw failure(result.error.issues);
  return compileParsedPriceBook(result.data);
}

/** Validates and compiles a configuration; throws ConfigError naming every bad field. */
export function compileConfig(input: unknown): TallyConfig {
  const result = tallyConfigSchema.safeParse(input ?? {});
  if (!result.success) throw failure(result.error.issues);
  const config = result.data;
  if (new Set(config.kinds).size !== config.kinds.length)
    throw new ConfigError('invalid configuration: kinds repeat');
  const refund_kind = config.kinds.includes('bonus') ? 'bonus' : config.kinds[config.kinds.length - 1]!;
  return {
    kinds: config.kinds,
    credit_value: config.credit_value,
    overage: config.settlement.overage,
    refund_kind,
    price_book: compileParsedPriceBook(config.price_book),
    price_book_document: (input as { price_book?: unknown } | undefined)?.price_book ?? {},
  };
}
