/**
 * What stands between a run and the credits (SPEC C8): the entitlement its operation needs,
 * the caps of the limits that apply to it, premium credits that need a subscription, and grant
 * restrictions. A refusal names each of them with how much it holds back, when it clears, and
 * what would unblock it.
 */
import { formatCredits } from '../domain/credits.ts';
import { type Allocation, type DrawCap, type DrawPlan, isInForce } from '../domain/drawdown.ts';
import { entitlementNeeded, type OperationPrice } from '../domain/pricing.ts';
import { TallyError } from '../domain/results.ts';
import type { RunScope } from '../domain/spending.ts';
import type { TallyConfig } from '../schema/config.ts';
import type { GrantRow, SubscriptionRow } from '../store/store.ts';
import type { AccountSession } from './account-session.ts';
import { capsFor, type LimitStatus } from './limits.ts';
import { activePlan } from './schedules.ts';
import { isoTime } from './views.ts';

export function entitlementsOf(config: TallyConfig, subscription: SubscriptionRow | undefined): Set<string> {
  const plan = activePlan(config, subscription);
  return new Set([
    ...(plan?.entitlements ?? []),
    ...(plan ? (subscription?.overrides.entitlements ?? []) : []),
  ]);
}

/** Refuses a run whose operation needs an entitlement the account's plan does not give, naming the plans that do. */
export function requireEntitlement(
  config: TallyConfig,
  subscription: SubscriptionRow | undefined,
  operation: OperationPrice,
  model: string | null | undefined,
): void {
  const needed = entitlementNeeded(operation, model);
  if (needed === undefined || entitlementsOf(config, subscription).has(needed)) return;
  const plans = [...config.plans.values()]
    .filter((plan) => plan.entitlements.includes(needed))
    .map((plan) => plan.id);
  throw new TallyError(
    'entitlement_required',
    `${model ? `${operation.id} with ${model}` : operation.id} needs ${needed}, which comes with ${plans.join(', ') || 'no plan'}`,
    {
      extensions: { entitlement: needed, plans, options: plans.length > 0 ? ['upgrade'] : [] },
    },
  );
}

export type BlockedBy =
  | { kind: 'insufficient_credits'; needed: string; available: string }
  | {
      kind: 'limit';
      limit_id: string;
      /** Whether the customer set this limit themselves (they can raise it again) or the operator did. */
      set_by: 'operator' | 'customer';
      window: string;
      max: string;
      used: string;
      resets_at: string | null;
    }
  | { kind: 'subscription_required'; grant_id: string; grant_kind: string; amount: string }
  | { kind: 'restriction'; grant_id: string; grant_kind: string; amount: string };

/** Premium grants in force that could pay were there an active subscription. */
export function premiumWithoutSubscription(
  grants: Iterable<GrantRow>,
  subscription: SubscriptionRow | undefined,
  now_ms: number,
): GrantRow[] {
  if (subscription?.status === 'active') return [];
  return [...grants].filter(
    (grant) => grant.requires_subscription && grant.remaining_micros > 0n && isInForce(grant, now_ms),
  );
}

export interface BlockingContext {
  statuses: readonly LimitStatus[];
  premium: readonly GrantRow[];
  config: TallyConfig;
  subscription: SubscriptionRow | undefined;
}

/** Why a draw came up short, without the insufficient-credits line itself. */
export function blockersOf(plan: Extract<DrawPlan, { ok: false }>, context: BlockingContext): BlockedBy[] {
  const blocked: BlockedBy[] = [];
  for (const key of plan.capped_by) {
    const status = context.statuses.find((candidate) => candidate.key === key)!;
    blocked.push({
      kind: 'limit',
      limit_id: status.rule.id,
      set_by: status.source === 'customer' ? 'customer' : 'operator',
      window: status.rule.window,
      max: formatCredits(status.rule.max_micros),
      used: formatCredits(status.used_micros),
      resets_at: status.resets_at_ms === null ? null : isoTime(status.resets_at_ms),
    });
  }
  for (const grant of context.premium) {
    blocked.push({
      kind: 'subscription_required',
      grant_id: grant.id,
      grant_kind: grant.kind,
      amount: formatCredits(grant.remaining_micros),
    });
  }
  for (const grant of plan.skipped) {
    blocked.push({
      kind: 'restriction',
      grant_id: grant.grant_id,
      grant_kind: grant.kind,
      amount: formatCredits(grant.available_micros),
    });
  }
  return blocked;
}

/** What would unblock a run: buying credits always; upgrading when a higher plan exists; waiting when a limit will reset. */
export function unblockOptions(blocked: readonly BlockedBy[], context: BlockingContext): string[] {
  const rank = activePlan(context.config, context.subscription)?.rank ?? -1;
  const higher = [...context.config.plans.values()].some((plan) => plan.rank > rank);
  return [
    'top_up',
    ...(higher ? ['upgrade'] : []),
    ...(blocked.some((entry) => entry.kind === 'limit' && entry.resets_at !== null) ? ['wait'] : []),
  ];
}

export function insufficientCredits(
  needed_micros: bigint,
  plan: Extract<DrawPlan, { ok: false }>,
  context: BlockingContext,
): TallyError {
  const blocked_by = blockersOf(plan, context);
  return new TallyError(
    'insufficient_credits',
    `needs ${formatCredits(needed_micros)} credits, ${formatCredits(plan.available_micros)} usable`,
    {
      extensions: {
        needed: formatCredits(needed_micros),
        available: formatCredits(plan.available_micros),
        blocked_by,
        options: unblockOptions(blocked_by, context),
      },
    },
  );
}

/** Everything a run must pass in a write session: its entitlement, and the caps of its limits. */
export async function runPolicy(
  session: AccountSession,
  config: TallyConfig,
  operation: OperationPrice,
  model: string | null | undefined,
  run: RunScope,
  statuses: (session: AccountSession) => Promise<LimitStatus[]>,
): Promise<{ caps: DrawCap[]; context: BlockingContext }> {
  requireEntitlement(config, session.subscription, operation, model);
  const all = await statuses(session);
  return {
    caps: capsFor(all, run),
    context: {
      statuses: all,
      premium: premiumWithoutSubscription(
        (await session.openGrants()).values(),
        session.subscription,
        session.now_ms,
      ),
      config,
      subscription: session.subscription,
    },
  };
}

/** Fires limit.reached for each limit this draw filled, once per window. */
export async function announceLimitsReached(
  session: AccountSession,
  statuses: readonly LimitStatus[],
  caps: readonly DrawCap[],
  allocations: readonly Allocation[],
): Promise<void> {
  for (const cap of caps) {
    const status = statuses.find((candidate) => candidate.key === cap.id)!;
    const drawn = allocations
      .filter((allocation) => cap.kinds === null || cap.kinds.includes(allocation.kind))
      .reduce((sum, allocation) => sum + allocation.amount_micros, 0n);
    if (drawn === 0n || status.used_micros + drawn < status.rule.max_micros) continue;
    const reached = await session.transaction.getLimitReachedWindow(session.account.id, cap.id);
    if (reached === status.window.start_ms) continue;
    await session.transaction.putLimitReachedWindow(session.account.id, cap.id, status.window.start_ms);
    await session.emit('limit.reached', {
      limit_id: status.rule.id,
      set_by: status.source === 'customer' ? 'customer' : 'operator',
      window: status.rule.window,
      max: formatCredits(status.rule.max_micros),
      resets_at: status.resets_at_ms === null ? null : isoTime(status.resets_at_ms),
    });
  }
}
