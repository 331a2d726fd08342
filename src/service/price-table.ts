/**
 * The public price table (SPEC C4, `GET /v1/prices`, `tally prices`): the credit value and
 * every operation with its rates, add-ons, limits, rounding and an example cost in credits and
 * money. Rates derived from a provider's price show the derived rate, with where it came from.
 */
import { formatCredits } from '../domain/credits.ts';
import { type Decimal, formatDecimal } from '../domain/decimal.ts';
import { MICROS_PER_CREDIT } from '../domain/limits.ts';
import { type Money, moneyFor } from '../domain/money.ts';
import { type OperationPrice, type ProviderPrice, priceRun } from '../domain/pricing.ts';
import type { PriceBook } from '../schema/config.ts';
import { isoTime } from './views.ts';

const decimals = (map: ReadonlyMap<string, Decimal>): Record<string, string> =>
  Object.fromEntries([...map].map(([key, value]) => [key, formatDecimal(value)]));

export interface ProviderPriceView {
  per_units: number;
  rates: Record<string, string>;
  markup: string;
}

export interface OperationPriceView {
  id: string;
  name: string;
  description: string | null;
  category: string;
  /** Credits per unit of each dimension. */
  rates: Record<string, string>;
  flat_credits: string;
  provider_price: ProviderPriceView | null;
  models: {
    id: string;
    rates: Record<string, string>;
    flat_credits: string | null;
    provider_price: ProviderPriceView | null;
    /** An entitlement this model needs (in place of the operation's), or null. */
    requires_entitlement: string | null;
  }[];
  add_ons: Record<string, string>;
  min_credits: string | null;
  max_credits: string | null;
  rounding: { mode: string; step_credits: string };
  failed_run: { policy: string; credits?: string };
  creator_share: { basis: 'cost' | 'premium'; rate: string } | null;
  requires_entitlement: string | null;
  example_usage: Record<string, string>;
  /** The example usage priced (with the first model when the operation prices only per model); null if it cannot be. */
  example_cost: { credits: string; money: Money; model: string | null } | null;
}

export interface PriceTableView {
  version: number;
  effective_at: string;
  /** What one credit is worth: in minor units as configured, and exactly in major units. */
  credit_value: { currency: string; amount_minor_per_credit: string; amount_per_credit: string };
  operations: OperationPriceView[];
}

const providerView = (price: ProviderPrice | undefined): ProviderPriceView | null =>
  price
    ? { per_units: price.per_units, rates: decimals(price.rates), markup: formatDecimal(price.markup) }
    : null;

function exampleCost(operation: OperationPrice, book: PriceBook): OperationPriceView['example_cost'] {
  const model = operation.rates.size === 0 ? operation.models.keys().next().value : undefined;
  const priced = priceRun(operation, { model, usage: operation.example_usage });
  if (!priced.ok) return null;
  return {
    credits: formatCredits(priced.micros),
    money: moneyFor(priced.micros, book.credit_value),
    model: model ?? null,
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
    creator_share: operation.creator_share
      ? { basis: operation.creator_share.basis, rate: formatDecimal(operation.creator_share.rate) }
      : null,
    requires_entitlement: operation.requires_entitlement ?? null,
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
