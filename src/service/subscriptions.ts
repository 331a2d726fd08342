/**
 * Subscriptions (SPEC C7): subscribe, upgrade at once with prorated credits for the rest of the
 * cycle (and the prorated money, for the payment side), downgrade and cancel at period end,
 * custom per-account overrides of a plan's numbers.
 */
import type { z } from 'zod';
import { assert } from '../domain/assert.ts';
import { periodContaining, type Window } from '../domain/calendar.ts';
import { formatCredits } from '../domain/credits.ts';
import { type Decimal, parseDecimal } from '../domain/decimal.ts';
import { type Plan, proratedMicros, proratedMoney } from '../domain/plans.ts';
import { TallyError } from '../domain/results.ts';
import type { subscriptionAnswer, subscriptionChangeAnswer } from '../schema/answers.ts';
import type { TallyConfig } from '../schema/config.ts';
import type { SubscriptionOverrides, SubscriptionRow } from '../store/store.ts';
import type { AccountSession } from './account-session.ts';
import {
  PRORATION_SUFFIX,
  runSchedules,
  scheduleAllowances,
  scheduledRule,
  unscheduleAllowances,
} from './schedules.ts';
import { isoTime } from './views.ts';

export type SubscriptionView = z.infer<typeof subscriptionAnswer>;

export type SubscriptionChange = z.infer<typeof subscriptionChangeAnswer>;

export function subscriptionView(row: SubscriptionRow): SubscriptionView {
  return {
    account: row.account_id,
    plan: row.plan_id,
    status: row.status,
    current_period_start: isoTime(row.current_period_start_ms),
    current_period_end: isoTime(row.current_period_end_ms),
    cancel_at_period_end: row.cancel_at_period_end,
    pending_plan: row.pending_plan_id,
    overrides: row.overrides,
    started_at: isoTime(row.started_at_ms),
    ended_at: row.ended_at_ms === null ? null : isoTime(row.ended_at_ms),
  };
}

export function planOf(config: TallyConfig, plan_id: string): Plan {
  const plan = config.plans.get(plan_id);
  if (!plan)
    throw new TallyError(
      'plan_not_found',
      `no plan ${plan_id}; plans are ${[...config.plans.keys()].join(', ') || 'none'}`,
    );
  return plan;
}

/** Upgrade credits: for each billing-cycle allowance of the new plan, its prorated increase over the old plan's of the same kind. */
async function grantProration(
  session: AccountSession,
  config: TallyConfig,
  from: Plan,
  to: Plan,
  subscription: SubscriptionRow,
  cycle: Window,
) {
  let total = 0n;
  for (const rule of to.allowances.filter((candidate) => candidate.period === 'billing_cycle')) {
    const new_amount = scheduledRule(
      config,
      { allowance_id: rule.id, plan_id: to.id },
      subscription,
    )!.amount_micros;
    const old_amount = from.allowances
      .filter((candidate) => candidate.period === 'billing_cycle' && candidate.kind === rule.kind)
      .reduce((sum, candidate) => sum + candidate.amount_micros, 0n);
    const extra = proratedMicros(new_amount, old_amount, cycle, session.now_ms);
    if (extra === 0n) continue;
    const id = session.newGrantId();
    await session.issueGrant(
      {
        id,
        kind: rule.kind,
        priority: session.priorityOf(rule.kind),
        amount_micros: extra,
        effective_at_ms: session.now_ms,
        expires_at_ms: cycle.end_ms,
        source: 'proration',
        reason: `upgrade from ${from.id} to ${to.id}`,
        allowed_operations: null,
        refund_of_charge_id: null,
        metadata: {},
        allowance_id: `${rule.id}${PRORATION_SUFFIX}`,
        period_start_ms: session.now_ms,
        requires_subscription: rule.requires_subscription,
      },
      { from: 'issued', type: 'grant_issue', reference_id: id },
    );
    total += extra;
  }
  return total;
}

/** Subscribes, changes plan or overrides. Upgrades apply now with prorated credits; downgrades at period end. */
export async function changeSubscription(
  session: AccountSession,
  config: TallyConfig,
  request: { plan: string; overrides?: SubscriptionOverrides | undefined },
): Promise<SubscriptionChange> {
  const plan = planOf(config, request.plan);
  const now_ms = session.now_ms;
  const current = session.subscription;

  if (!current || current.status === 'canceled') {
    const cycle = periodContaining(now_ms, 'billing_cycle', session.account.timezone, now_ms);
    const created: SubscriptionRow = {
      account_id: session.account.id,
      plan_id: plan.id,
      status: 'active',
      anchor_ms: now_ms,
      current_period_start_ms: cycle.start_ms,
      current_period_end_ms: cycle.end_ms,
      cancel_at_period_end: false,
      pending_plan_id: null,
      overrides: request.overrides ?? {},
      started_at_ms: now_ms,
      ended_at_ms: null,
      updated_at_ms: now_ms,
    };
    session.subscription = created;
    await session.transaction.putSubscription(created);
    await scheduleAllowances(session, plan.allowances, plan.id, now_ms, now_ms);
    await runSchedules(session, config);
    await session.emit('subscription.created', { plan: plan.id, current_period_end: isoTime(cycle.end_ms) });
    return { subscription: subscriptionView(created), proration: null, effective: 'now' };
  }

  const from = planOf(config, current.plan_id);
  current.overrides = request.overrides ?? current.overrides;
  current.updated_at_ms = now_ms;
  let change: SubscriptionChange['proration'] = null;
  let effective: SubscriptionChange['effective'] = 'now';
  if (plan.id === from.id) {
    // Re-subscribing to the same plan undoes a pending cancellation or downgrade.
    current.cancel_at_period_end = false;
    current.pending_plan_id = null;
  } else if (plan.rank > from.rank) {
    const cycle = { start_ms: current.current_period_start_ms, end_ms: current.current_period_end_ms };
    current.plan_id = plan.id;
    current.pending_plan_id = null;
    current.cancel_at_period_end = false;
    const credits_micros = await grantProration(session, config, from, plan, current, cycle);
    await unscheduleAllowances(session, from.id);
    // This cycle is covered by the old plan's grant plus the proration; the new plan's allowances begin next cycle.
    await scheduleAllowances(
      session,
      plan.allowances.filter((rule) => rule.period === 'billing_cycle'),
      plan.id,
      current.anchor_ms,
      cycle.end_ms,
    );
    await scheduleAllowances(
      session,
      plan.allowances.filter((rule) => rule.period !== 'billing_cycle'),
      plan.id,
      current.anchor_ms,
      now_ms,
    );
    change = {
      credits: formatCredits(credits_micros),
      money: proratedMoney(plan.price, from.price, cycle, now_ms),
    };
  } else {
    current.pending_plan_id = plan.id;
    effective = 'period_end';
  }
  await session.transaction.putSubscription(current);
  await runSchedules(session, config);
  await session.emit('subscription.updated', {
    plan: current.plan_id,
    pending_plan: current.pending_plan_id,
    effective,
  });
  return { subscription: subscriptionView(current), proration: change, effective };
}

/** Cancels at the end of the period: until then the plan and its credits stay. */
export async function cancelSubscription(session: AccountSession): Promise<SubscriptionView> {
  const current = session.subscription;
  if (current?.status !== 'active')
    throw new TallyError('subscription_not_found', `${session.account.id} has no active subscription`);
  current.cancel_at_period_end = true;
  current.pending_plan_id = null;
  current.updated_at_ms = session.now_ms;
  await session.transaction.putSubscription(current);
  await session.emit('subscription.updated', { plan: current.plan_id, cancel_at_period_end: true });
  return subscriptionView(current);
}

/** The custom plan's price factor for an operation, while its subscription is active (SPEC C7). */
export function priceFactorOf(
  subscription: SubscriptionRow | undefined,
  operation_id: string,
): Decimal | undefined {
  const stored =
    subscription?.status === 'active' ? subscription.overrides.prices?.[operation_id] : undefined;
  if (stored === undefined) return undefined;
  const parsed = parseDecimal(stored, 6);
  assert(parsed.ok, `a stored price factor is a decimal: ${stored}`);
  return parsed.value;
}
