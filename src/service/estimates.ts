/**
 * Estimates and "about N more runs" (SPEC C5). Both read an account at one instant and change
 * nothing. An estimate prices one run three ways — least it can cost, what it is expected to
 * cost, the most a reservation would hold — and says whether the account can afford it now,
 * what blocks it, and how many such runs the balance covers.
 */

import type { z } from 'zod';
import { computeBalance, drawableAt } from '../domain/balance.ts';
import { DAY_MS } from '../domain/calendar.ts';
import { chargeParts } from '../domain/creators.ts';
import { formatCredits } from '../domain/credits.ts';
import { type Decimal, formatDecimal } from '../domain/decimal.ts';
import { type DrawableGrant, type DrawCap, planDraw } from '../domain/drawdown.ts';
import { medianUsage, runsAffordable, runwayDays, usableFor } from '../domain/forecast.ts';
import {
  BURN_RATE_WINDOW_DAYS,
  TYPICAL_USAGE_CHARGES_MAX,
  TYPICAL_USAGE_WINDOW_DAYS,
} from '../domain/limits.ts';
import { moneyFor } from '../domain/money.ts';
import { type OperationPrice, priceRun, type RunToPrice } from '../domain/pricing.ts';
import { TallyError } from '../domain/results.ts';
import type { estimateAnswer, remainingAnswer } from '../schema/answers.ts';
import type { estimateInput } from '../schema/commands.ts';
import type { PriceBook, TallyConfig } from '../schema/config.ts';
import type { ChargeRow, GrantRow, StoreTransaction, SubscriptionRow } from '../store/store.ts';
import { capsFor, type LimitStatus, limitStatuses } from './limits.ts';
import {
  type BlockedBy,
  blockersOf,
  premiumWithoutSubscription,
  requireEntitlement,
  unblockOptions,
} from './policy.ts';
import { priceFactorOf } from './subscriptions.ts';
import { countTokens, type TokenCount } from './tokens.ts';

/** What an account looks like to a forecast: its usable grants, recent charges, limits and subscription. */
export interface AccountSnapshot {
  drawable: DrawableGrant[];
  history: ChargeRow[];
  statuses: LimitStatus[];
  premium: GrantRow[];
  subscription: SubscriptionRow | undefined;
}

export async function loadSnapshot(
  transaction: StoreTransaction,
  account_id: string,
  config: TallyConfig,
  now_ms: number,
  /** The team member the estimate is for: limits on each member are measured for them. */
  member: string | null = null,
): Promise<AccountSnapshot> {
  const account = await transaction.getAccount(account_id);
  if (!account) throw new TallyError('account_not_found', `no account ${account_id}`);
  const grants = await transaction.listOpenGrants(account_id);
  const subscription = await transaction.getSubscription(account_id);
  const held = await transaction.listHeldReservations(account_id);
  const balance = computeBalance(grants, held, config.kinds, now_ms, subscription?.status === 'active');
  const since_ms = now_ms - TYPICAL_USAGE_WINDOW_DAYS * DAY_MS;
  return {
    drawable: drawableAt(grants, balance),
    history: await transaction.listRecentCharges(account_id, since_ms, TYPICAL_USAGE_CHARGES_MAX),
    statuses: await limitStatuses(
      transaction,
      config,
      account,
      subscription,
      await transaction.listAccountLimits(account_id),
      now_ms,
      member,
    ),
    premium: premiumWithoutSubscription(grants, subscription, now_ms),
    subscription,
  };
}

/** Credits a run of `operation` could draw now: its usable grants, within the caps that apply to it. */
function usableWithin(
  snapshot: AccountSnapshot,
  operation: string,
  caps: readonly DrawCap[],
  now_ms: number,
): bigint {
  const total = usableFor(snapshot.drawable, operation, now_ms);
  const plan = planDraw(snapshot.drawable, operation, total, now_ms, caps);
  return plan.ok ? total : plan.available_micros;
}

export type UsageBasis = 'given' | 'history' | 'example';

/** The account's median usage of its recent succeeded runs of the operation, else the operation's example. */
export function typicalUsage(
  operation: OperationPrice,
  history: readonly ChargeRow[],
): { usage: Map<string, Decimal>; basis: UsageBasis; model: string | undefined } {
  const runs = history.filter(
    (charge) => charge.operation === operation.id && charge.outcome === 'succeeded',
  );
  if (runs.length === 0) {
    const model = operation.rates.size === 0 ? operation.models.keys().next().value : undefined;
    return { usage: new Map(operation.example_usage), basis: 'example', model };
  }
  return {
    usage: medianUsage(runs.map((run) => run.usage)),
    basis: 'history',
    model: runs[0]!.model ?? undefined,
  };
}

/** What prices a run for this account beyond the price book: a creator's premium, a custom plan's price. */
type AccountTerms = Pick<RunToPrice, 'on_creator_work' | 'price_factor'>;

function price(
  operation: OperationPrice,
  model: string | undefined,
  usage: ReadonlyMap<string, Decimal>,
  add_ons?: readonly string[],
  terms: AccountTerms = {},
) {
  const priced = priceRun(operation, { model, usage, add_ons, ...terms });
  if (!priced.ok) throw new TallyError(priced.code, priced.detail);
  return priced.micros;
}

const quantity = (count: number): Decimal => ({ units: BigInt(count), scale: 0 });
const usageRecord = (usage: ReadonlyMap<string, Decimal>) =>
  Object.fromEntries([...usage].map(([dimension, value]) => [dimension, formatDecimal(value)]));

/** What would block the run: policy's reasons, or a missing entitlement with the plans that give it. */
export type EstimateBlocker = BlockedBy | { kind: 'entitlement'; entitlement: string; plans: string[] };

export type EstimateView = z.infer<typeof estimateAnswer>;

/** The credits a run may cost — least, expected and most — and the usage the expected cost prices. */
interface CostRange {
  expected_usage: Map<string, Decimal>;
  basis: UsageBasis;
  min_micros: bigint;
  expected_micros: bigint;
  max_micros: bigint;
  input_tokens: TokenCount | null;
}

/**
 * Prices the run three ways. With the input text: its counted tokens, and output between none
 * and the caller's cap (expected: the typical output, never above the cap). With usage given:
 * that usage (max: with the output cap). Otherwise: the typical usage, up to the operation's max.
 */
async function costRange(
  request: ReturnType<typeof estimateInput.parse>,
  operation: OperationPrice,
  typical: ReturnType<typeof typicalUsage>,
  model: string | undefined,
  terms: AccountTerms,
): Promise<CostRange> {
  const priced = (usage: ReadonlyMap<string, Decimal>) =>
    price(operation, model, usage, request.add_ons, terms);
  let expected_usage: Map<string, Decimal>;
  let basis: UsageBasis;
  let min_micros: bigint;
  let max_micros: bigint;
  let input_tokens: TokenCount | null = null;
  if (request.input_text !== undefined) {
    input_tokens = await countTokens(request.input_text, model);
    const base = new Map(request.usage ?? []);
    base.set('input_tokens', quantity(input_tokens.tokens));
    const typical_output = typical.usage.get('output_tokens') ?? { units: 0n, scale: 0 };
    const max_output = request.max_output_tokens;
    const expected_output =
      max_output !== undefined &&
      typical_output.units > BigInt(max_output) * 10n ** BigInt(typical_output.scale)
        ? quantity(max_output)
        : typical_output;
    expected_usage = new Map([...base, ['output_tokens', expected_output]]);
    basis = typical.basis;
    min_micros = priced(new Map([...base, ['output_tokens', quantity(0)]]));
    max_micros =
      max_output === undefined
        ? (operation.max_micros ?? priced(expected_usage))
        : priced(new Map([...base, ['output_tokens', quantity(max_output)]]));
  } else if (request.usage) {
    expected_usage = request.usage;
    basis = 'given';
    min_micros = priced(expected_usage);
    max_micros =
      request.max_output_tokens === undefined
        ? min_micros
        : priced(new Map([...expected_usage, ['output_tokens', quantity(request.max_output_tokens)]]));
  } else {
    expected_usage = typical.usage;
    basis = typical.basis;
    min_micros = priced(new Map());
    max_micros = operation.max_micros ?? priced(expected_usage);
  }
  const expected_micros = priced(expected_usage);
  return {
    expected_usage,
    basis,
    input_tokens,
    expected_micros,
    min_micros: min_micros > expected_micros ? expected_micros : min_micros,
    max_micros: max_micros < expected_micros ? expected_micros : max_micros,
  };
}

/** What would block the run now, what the account can afford, and what would unblock it. */
function whatBlocks(
  request: ReturnType<typeof estimateInput.parse>,
  operation: OperationPrice,
  snapshot: AccountSnapshot,
  config: TallyConfig,
  run: {
    now_ms: number;
    api_key: string | undefined;
    model: string | undefined;
    max_micros: bigint;
    expected_micros: bigint;
  },
) {
  const { now_ms, api_key, model, max_micros, expected_micros } = run;
  const caps = capsFor(snapshot.statuses, {
    operation: operation.id,
    member: request.member ?? null,
    project: request.metadata?.project ?? null,
    api_key: api_key ?? null,
  });
  const available_micros = usableWithin(snapshot, operation.id, caps, now_ms);
  const plan = planDraw(snapshot.drawable, operation.id, max_micros, now_ms, caps);
  const context = {
    statuses: snapshot.statuses,
    premium: snapshot.premium,
    config,
    subscription: snapshot.subscription,
  };
  const policy_blockers: BlockedBy[] = plan.ok
    ? []
    : [
        {
          kind: 'insufficient_credits',
          needed: formatCredits(max_micros),
          available: formatCredits(plan.available_micros),
        },
        ...blockersOf(plan, context),
      ];
  const blocked_by: EstimateBlocker[] = [...policy_blockers];
  const missing = missingEntitlement(config, snapshot.subscription, operation, model);
  if (missing) blocked_by.unshift({ kind: 'entitlement', ...missing });
  const affordable = blocked_by.length === 0;
  // Without the entitlement no run is possible, whatever the balance: buying credits would not
  // help, only a plan that gives it (offered when one does).
  const runs = missing ? 0n : runsAffordable(available_micros, expected_micros);
  const options = affordable
    ? []
    : missing
      ? missing.plans.length > 0
        ? ['upgrade']
        : []
      : unblockOptions(policy_blockers, context);
  return { available_micros, blocked_by, affordable, runs, options };
}

export async function buildEstimate(
  request: ReturnType<typeof estimateInput.parse>,
  operation: OperationPrice,
  book: PriceBook,
  snapshot: AccountSnapshot,
  config: TallyConfig,
  now_ms: number,
  /** The API key asking, whose per-key budget applies. */
  api_key?: string,
  /** The creator who would earn of the run (commands/runs.ts creatorOf), if any. */
  creator: string | null = null,
): Promise<EstimateView> {
  const typical = typicalUsage(operation, snapshot.history);
  const model =
    request.model ?? (request.usage || request.input_text !== undefined ? undefined : typical.model);
  const range = await costRange(request, operation, typical, model, {
    on_creator_work: creator !== null,
    price_factor: priceFactorOf(snapshot.subscription, operation.id),
  });
  const { min_micros, expected_micros, max_micros } = range;

  const { available_micros, blocked_by, affordable, runs, options } = whatBlocks(
    request,
    operation,
    snapshot,
    config,
    { now_ms, api_key, model, max_micros, expected_micros },
  );
  return {
    account: request.account,
    operation: operation.id,
    model: model ?? null,
    price_version: book.version,
    credits_min: formatCredits(min_micros),
    credits_expected: formatCredits(expected_micros),
    credits_max: formatCredits(max_micros),
    money: {
      min: moneyFor(min_micros, book.credit_value),
      expected: moneyFor(expected_micros, book.credit_value),
      max: moneyFor(max_micros, book.credit_value),
    },
    usage_expected: usageRecord(range.expected_usage),
    usage_basis: range.basis,
    input_tokens: range.input_tokens,
    affordable,
    blocked_by,
    options,
    available: formatCredits(available_micros),
    balance_after:
      expected_micros <= available_micros ? formatCredits(available_micros - expected_micros) : null,
    runs_affordable: runs === null ? null : Number(runs),
    creator: creatorParts(operation, creator, expected_micros),
  };
}

/** The two parts of the expected charge on a creator's work: the AI cost and the creator's share. */
function creatorParts(operation: OperationPrice, creator: string | null, expected_micros: bigint) {
  const share = operation.creator_share;
  if (creator === null || !share) return null;
  const parts = chargeParts(share, expected_micros);
  return {
    account: creator,
    basis: share.basis,
    amount: formatCredits(parts.creator_micros),
    ai_cost: formatCredits(parts.ai_cost_micros),
  };
}

export type RemainingView = z.infer<typeof remainingAnswer>;

/** The entitlement a run needs and the account lacks, with the plans that give it; null when it may run. */
function missingEntitlement(
  config: TallyConfig,
  subscription: SubscriptionRow | undefined,
  operation: OperationPrice,
  model: string | null | undefined,
): { entitlement: string; plans: string[] } | null {
  try {
    requireEntitlement(config, subscription, operation, model);
    return null;
  } catch (error) {
    if (!(error instanceof TallyError)) throw error;
    return error.extensions as { entitlement: string; plans: string[] };
  }
}

export function buildRemaining(
  account: string,
  book: PriceBook,
  snapshot: AccountSnapshot,
  config: TallyConfig,
  now_ms: number,
): RemainingView {
  const operations: RemainingView['operations'] = [];
  for (const operation of book.operations.values()) {
    const typical = typicalUsage(operation, snapshot.history);
    const priced = priceRun(operation, {
      model: typical.model,
      usage: typical.usage,
      price_factor: priceFactorOf(snapshot.subscription, operation.id),
    });
    if (!priced.ok) continue;
    const caps = capsFor(snapshot.statuses, {
      operation: operation.id,
      member: null,
      project: null,
      api_key: null,
    });
    const missing = missingEntitlement(config, snapshot.subscription, operation, typical.model);
    const runs = missing
      ? 0n
      : runsAffordable(usableWithin(snapshot, operation.id, caps, now_ms), priced.micros);
    operations.push({
      id: operation.id,
      name: operation.name,
      runs_affordable: runs === null ? null : Number(runs),
      entitlement_required: missing?.entitlement ?? null,
      options: missing ? (missing.plans.length > 0 ? ['upgrade'] : []) : runs === 0n ? ['top_up'] : [],
      typical_cost: formatCredits(priced.micros),
      typical_money: moneyFor(priced.micros, book.credit_value),
      typical_usage: usageRecord(typical.usage),
      usage_basis: typical.basis,
    });
  }
  const burn_since_ms = now_ms - BURN_RATE_WINDOW_DAYS * DAY_MS;
  const spent_micros = snapshot.history
    .filter((charge) => charge.created_at_ms >= burn_since_ms)
    .reduce((sum, charge) => sum + charge.credits_micros - charge.refunded_micros, 0n);
  const usable_micros = snapshot.drawable.reduce((sum, grant) => sum + grant.available_micros, 0n);
  return {
    account,
    price_version: book.version,
    operations,
    burn_per_day: formatCredits(spent_micros / BigInt(BURN_RATE_WINDOW_DAYS)),
    runway_days: runwayDays(usable_micros, spent_micros, BURN_RATE_WINDOW_DAYS),
  };
}
