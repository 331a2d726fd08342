/**
 * The pricing core: what one run of an operation costs, exactly, in micro-credits.
 *
 * Every term (usage × rate, flat fee, add-ons) is summed as an exact integer of 10^-18
 * credits, then rounded once per charge to the operation's step and clamped to its minimum
 * and maximum. Rates, usage and fees never pass through a float.
 */
import { type Decimal, divideRounded, formatDecimal, pow10, type RoundingMode, rescale } from './decimal.ts';
import { RATE_DECIMALS_MAX, USAGE_DECIMALS_MAX } from './limits.ts';

/** The scale every term is summed at: a rate's decimals plus a quantity's. */
const SUM_SCALE = RATE_DECIMALS_MAX + USAGE_DECIMALS_MAX;
/** 10^-18 credits per micro-credit. */
const SUM_UNITS_PER_MICRO = pow10(SUM_SCALE - 6);

export type Outcome = 'succeeded' | 'failed' | 'rejected';
export const OUTCOMES: readonly Outcome[] = ['succeeded', 'failed', 'rejected'];

/** What a failed run costs: nothing, the full price, or a fixed amount (never more than the full price). */
export type FailedRunPolicy = { policy: 'none' } | { policy: 'full' } | { policy: 'fixed'; micros: bigint };

export interface Rounding {
  /** `none` still lands on a whole micro-credit, to the nearest. */
  mode: 'none' | RoundingMode;
  step_micros: bigint;
}

/** Where derived rates come from: a provider's price in money per `per_units` units, and the markup. */
export interface ProviderPrice {
  per_units: number;
  rates: ReadonlyMap<string, Decimal>;
  markup: Decimal;
}

export interface ModelPrice {
  /** Rates that replace the operation's rate for the same dimension (derived ones included). */
  rates: ReadonlyMap<string, Decimal>;
  flat: Decimal | undefined;
  provider_price: ProviderPrice | undefined;
  /** An entitlement this model needs, in place of (not beside) the operation's. */
  requires_entitlement: string | undefined;
}

/** The entitlement a run of `operation` with `model` needs, if any: the model's own, else the operation's. */
export function entitlementNeeded(
  operation: OperationPrice,
  model: string | null | undefined,
): string | undefined {
  const of_model = model == null ? undefined : operation.models.get(model)?.requires_entitlement;
  return of_model ?? operation.requires_entitlement;
}

export interface CreatorShare {
  /** `cost`: carved out of what the runner pays. `premium`: added on top of it. */
  basis: 'cost' | 'premium';
  /** Fraction, e.g. 0.1 for 10 %. */
  rate: Decimal;
}

/** One operation of a price book version, compiled from configuration. */
export interface OperationPrice {
  id: string;
  name: string;
  description: string | undefined;
  category: string;
  /** Credits per unit of each dimension (derived ones included). */
  rates: ReadonlyMap<string, Decimal>;
  provider_price: ProviderPrice | undefined;
  /** Credits per run, whatever the usage. */
  flat: Decimal;
  add_ons: ReadonlyMap<string, Decimal>;
  models: ReadonlyMap<string, ModelPrice>;
  min_micros: bigint | undefined;
  max_micros: bigint | undefined;
  rounding: Rounding;
  failed_run: FailedRunPolicy;
  /** A run failing or without output after this many near-identical ones in its thread costs `micros` at most. */
  no_progress: { after_identical: number; micros: bigint } | undefined;
  requires_entitlement: string | undefined;
  creator_share: CreatorShare | undefined;
  /** Usage of a typical run, for examples and "about N more" before an account has history. */
  example_usage: ReadonlyMap<string, Decimal>;
}

export interface PriceLine {
  item: string;
  quantity: string;
  rate: string;
  /** Exact, before rounding. */
  credits: string;
}

export type PriceResult =
  | { ok: true; micros: bigint; lines: PriceLine[] }
  | { ok: false; code: 'model_not_found' | 'usage_dimension_unknown' | 'add_on_unknown'; detail: string };

export interface RunToPrice {
  model?: string | undefined;
  usage: ReadonlyMap<string, Decimal>;
  add_ons?: readonly string[] | undefined;
  /**
   * Whether the run is of someone else's work under a `premium` creator share: the premium is
   * added to the exact price before the one rounding (creators.ts).
   */
  on_creator_work?: boolean | undefined;
  /**
   * A custom plan's price for this account (0.8: 20 % off), applied to the exact price before the
   * one rounding; the operation's minimum and maximum still hold.
   */
  price_factor?: Decimal | undefined;
}

const ONE: Decimal = { units: 1n, scale: 0 };

function exactCredits(sum_units: bigint): string {
  return formatDecimal({ units: sum_units, scale: SUM_SCALE });
}

/** The price of one run, rounded once and clamped to the operation's minimum and maximum. */
export function priceRun(operation: OperationPrice, run: RunToPrice): PriceResult {
  let model: ModelPrice | undefined;
  if (run.model !== undefined && operation.models.size > 0) {
    model = operation.models.get(run.model);
    if (!model)
      return { ok: false, code: 'model_not_found', detail: `${operation.id} has no model ${run.model}` };
  }
  const lines: PriceLine[] = [];
  let sum_units = 0n;
  const addTerm = (item: string, quantity: Decimal, rate: Decimal) => {
    const term = quantity.units * rate.units * pow10(SUM_SCALE - quantity.scale - rate.scale);
    sum_units += term;
    lines.push({
      item,
      quantity: formatDecimal(quantity),
      rate: formatDecimal(rate),
      credits: exactCredits(term),
    });
  };

  const flat = model?.flat ?? operation.flat;
  if (flat.units !== 0n) addTerm('flat', ONE, flat);
  for (const [dimension, quantity] of run.usage) {
    const rate = model?.rates.get(dimension) ?? operation.rates.get(dimension);
    if (!rate) {
      // Say what it is priced in: the caller can map its usage fields (OpenAI's prompt_tokens) to them.
      const priced = [...new Set([...(model?.rates.keys() ?? []), ...operation.rates.keys()])];
      return {
        ok: false,
        code: 'usage_dimension_unknown',
        detail: `${operation.id}${model ? ` with ${run.model}` : ''} is not priced in ${dimension}; it is priced in ${priced.length > 0 ? priced.join(', ') : 'no usage dimension (a flat price)'}`,
      };
    }
    addTerm(dimension, quantity, rate);
  }
  for (const add_on of run.add_ons ?? []) {
    const fee = operation.add_ons.get(add_on);
    if (!fee) return { ok: false, code: 'add_on_unknown', detail: `${operation.id} has no add-on ${add_on}` };
    addTerm(add_on, ONE, fee);
  }

  if (run.price_factor !== undefined) {
    const { units, scale } = run.price_factor;
    const factored = (sum_units * units) / pow10(scale);
    lines.push({
      item: 'custom price',
      quantity: '1',
      rate: formatDecimal(run.price_factor),
      credits: exactCredits(factored - sum_units),
    });
    sum_units = factored;
  }
  const share = operation.creator_share;
  if (run.on_creator_work && share?.basis === 'premium' && sum_units > 0n) {
    const premium = (sum_units * share.rate.units) / pow10(share.rate.scale);
    sum_units += premium;
    lines.push({
      item: 'creator premium',
      quantity: '1',
      rate: formatDecimal(share.rate),
      credits: exactCredits(premium),
    });
  }

  const { mode, step_micros } = operation.rounding;
  const step_units = SUM_UNITS_PER_MICRO * step_micros;
  let micros = divideRounded(sum_units, step_units, mode === 'none' ? 'nearest' : mode) * step_micros;
  if (operation.min_micros !== undefined && micros < operation.min_micros) micros = operation.min_micros;
  if (operation.max_micros !== undefined && micros > operation.max_micros) micros = operation.max_micros;
  return { ok: true, micros, lines };
}

/** What a settled run costs given its outcome; failed runs follow the operation's policy. */
export function costForOutcome(operation: OperationPrice, full_micros: bigint, outcome: Outcome): bigint {
  if (outcome !== 'failed') return full_micros;
  const policy = operation.failed_run;
  if (policy.policy === 'none') return 0n;
  if (policy.policy === 'full') return full_micros;
  return policy.micros < full_micros ? policy.micros : full_micros;
}

/** A rate given directly in credits, as a Decimal at most RATE_DECIMALS_MAX places. */
export function rateToSumUnits(rate: Decimal): bigint {
  return rescale(rate, SUM_SCALE);
}
