/**
 * The public price table (SPEC C4, `GET /v1/prices`, `tally prices`): the credit value and
 * every operation with its rates, add-ons, limits, rounding and an example cost in credits and
 * money. Rates derived from a provider's price show the derived rate, with where it came from.
 */
import type { z } from 'zod';
import { chargeParts } from '../domain/creators.ts';
import { formatCredits } from '../domain/credits.ts';
import { type Decimal, formatDecimal } from '../domain/decimal.ts';
import { MICROS_PER_CREDIT } from '../domain/limits.ts';
import { moneyFor } from '../domain/money.ts';
import { type OperationPrice, type ProviderPrice, priceRun } from '../domain/pricing.ts';
import type { operationPriceAnswer, priceTableAnswer } from '../schema/answers.ts';
import type { PriceBook } from '../schema/config.ts';
import { isoTime } from './views.ts';

const decimals = (map: ReadonlyMap<string, Decimal>): Record<string, string> =>
  Object.fromEntries([...map].map(([key, value]) => [key, formatDecimal(value)]));

export type ProviderPriceView = NonNullable<OperationPriceView['provider_price']>;

export type OperationPriceView = z.infer<typeof operationPriceAnswer>;

export type PriceTableView = z.infer<typeof priceTableAnswer>;

const providerView = (price: ProviderPrice | undefined): ProviderPriceView | null =>
  price
    ? { per_units: price.per_units, rates: decimals(price.rates), markup: formatDecimal(price.markup) }
    : null;

const exampleModel = (operation: OperationPrice) =>
  operation.rates.size === 0 ? operation.models.keys().next().value : undefined;

function exampleCost(operation: OperationPrice, book: PriceBook): OperationPriceView['example_cost'] {
  const model = exampleModel(operation);
  const priced = priceRun(operation, { model, usage: operation.example_usage });
  if (!priced.ok) return null;
  return {
    credits: formatCredits(priced.micros),
    money: moneyFor(priced.micros, book.credit_value),
    model: model ?? null,
  };
}

/** The creator share of an operation, with the example run on shared work in its two parts. */
function creatorShareView(operation: OperationPrice): OperationPriceView['creator_share'] {
  const share = operation.creator_share;
  if (!share) return null;
  const priced = priceRun(operation, {
    model: exampleModel(operation),
    usage: operation.example_usage,
    on_creator_work: true,
  });
  if (!priced.ok) return { basis: share.basis, rate: formatDecimal(share.rate), example: null };
  const parts = chargeParts(share, priced.micros);
  return {
    basis: share.basis,
    rate: formatDecimal(share.rate),
    example: {
      credits: formatCredits(priced.micros),
      ai_cost: formatCredits(parts.ai_cost_micros),
      creator: formatCredits(parts.creator_micros),
    },
  };
}

export function operationView(operation: OperationPrice, book: PriceBook): OperationPriceView {
  return {
    id: operation.id,
    name: operation.name,
    description: operation.description ?? null,
    category: operation.category,
    rates: decimals(operation.rates),
    flat_credits: formatDecimal(operation.flat),
    provider_price: providerView(operation.provider_price),
    models: [...operation.models].map(([id, model]) => ({
      id,
      rates: decimals(model.rates),
      flat_credits: model.flat ? formatDecimal(model.flat) : null,
      provider_price: providerView(model.provider_price),
      requires_entitlement: model.requires_entitlement ?? null,
    })),
    add_ons: decimals(operation.add_ons),
    min_credits: operation.min_micros === undefined ? null : formatCredits(operation.min_micros),
    max_credits: operation.max_micros === undefined ? null : formatCredits(operation.max_micros),
    rounding: { mode: operation.rounding.mode, step_credits: formatCredits(operation.rounding.step_micros) },
    failed_run:
      operation.failed_run.policy === 'fixed'
        ? { policy: 'fixed', credits: formatCredits(operation.failed_run.micros) }
        : { policy: operation.failed_run.policy },
    creator_share: creatorShareView(operation),
    requires_entitlement: operation.requires_entitlement ?? null,
    no_progress: operation.no_progress
      ? {
          after_identical: operation.no_progress.after_identical,
          credits: formatCredits(operation.no_progress.micros),
        }
      : null,
    example_usage: decimals(operation.example_usage),
    example_cost: exampleCost(operation, book),
  };
}

export function priceTableView(book: PriceBook): PriceTableView {
  return {
    version: book.version,
    effective_at: isoTime(book.effective_at_ms),
    credit_value: {
      currency: book.credit_value.currency,
      amount_minor_per_credit: formatDecimal(book.credit_value.amount_minor_per_credit),
      amount_per_credit: moneyFor(MICROS_PER_CREDIT, book.credit_value).amount,
    },
    // One stable order, whatever order the version was written in.
    operations: [...book.operations.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((operation) => operationView(operation, book)),
  };
}
