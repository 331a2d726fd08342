/**
 * Scheduled work of one account (SPEC C7), run inside its session whenever it is due: the
 * subscription's period ends (renewal, a downgrade taking effect, a cancellation) and the
 * allowance periods that began, in time order. After downtime the same code catches up and
 * issues exactly the grants that fell due, once each: a grant is unique per allowance and period.
 */
import { periodContaining, type Window } from '../domain/calendar.ts';
import { type AllowanceRule, allowanceExpiry, type Plan } from '../domain/plans.ts';
import type { TallyConfig } from '../schema/config.ts';
import type { AllowanceScheduleRow, GrantRow, SubscriptionRow } from '../store/store.ts';
import type { AccountSession } from './account-session.ts';

/** Issued grants of an allowance that are not the period grant itself carry a suffix on its id. */
export const ROLLOVER_SUFFIX = '~rollover';
export const PRORATION_SUFFIX = '~proration';

export function activePlan(config: TallyConfig, subscription: SubscriptionRow | undefined): Plan | undefined {
  return subscription?.status === 'active' ? config.plans.get(subscription.plan_id) : undefined;
}

/** The allowance a schedule row stands for, with the subscription's override of its amount. */
export function scheduledRule(
  config: TallyConfig,
  schedule: Pick<AllowanceScheduleRow, 'allowance_id' | 'plan_id'>,
  subscription: SubscriptionRow | undefined,
): AllowanceRule | undefined {
  const rules =
    schedule.plan_id === null ? config.allowances : (config.plans.get(schedule.plan_id)?.allowances ?? []);
  const rule = rules.find((candidate) => candidate.id === schedule.allowance_id);
  const override =
    schedule.plan_id !== null ? subscription?.overrides.allowances?.[schedule.allowance_id] : undefined;
  return rule && override !== undefined ? { ...rule, amount_micros: BigInt(override) } : rule;
}

function windowOf(session: AccountSession, rule: AllowanceRule, at_ms: number, anchor_ms: number): Window {
  return periodContaining(at_ms, rule.period, session.account.timezone, anchor_ms);
}

/** Schedules the allowances of a plan (or of every account, plan null) from `from_ms`'s period on. */
export async function scheduleAllowances(
  session: AccountSession,
  rules: readonly AllowanceRule[],
  plan_id: string | null,
  anchor_ms: number,
  from_ms: number,
): Promise<void> {
  for (const rule of rules) {
    await session.transaction.putAllowanceSchedule({
      account_id: session.account.id,
      allowance_id: rule.id,
      plan_id,
      anchor_ms,
      next_period_start_ms: windowOf(session, rule, from_ms, anchor_ms).start_ms,
    });
  }
}

export async function unscheduleAllowances(session: AccountSession, plan_id: string): Promise<void> {
  for (const schedule of await session.transaction.listAllowanceSchedules(session.account.id)) {
    if (schedule.plan_id === plan_id)
      await session.transaction.deleteAllowanceSchedule(session.account.id, schedule.allowance_id);
  }
}

/** The period grant of an allowance that ends as `window` begins, if it is still open. */
async function endingGrant(
  session: AccountSession,
  rule: AllowanceRule,
  window: Window,
  anchor_ms: number,
): Promise<GrantRow | undefined> {
  const previous = windowOf(session, rule, window.start_ms - 1, anchor_ms);
  const grant = await session.transaction.getAllowanceGrant(session.account.id, rule.id, previous.start_ms);
  if (grant?.status !== 'active') return undefined;
  return session.grant(grant.id);
}

/** The end of the period `periods` periods on from `window` (1 = `window` itself). */
function endAfterPeriods(
  session: AccountSession,
  rule: AllowanceRule,
  window: Window,
  periods: number,
  anchor_ms: number,
): number {
  let end = window.end_ms;
  for (let period = 1; period < periods; period++) end = windowOf(session, rule, end, anchor_ms).end_ms;
  return end;
}

/** Issues one period of an allowance: carries over what rollover allows, resets what reset ends, then grants. */
async function issuePeriod(
  session: AccountSession,
  rule: AllowanceRule,
  schedule: AllowanceScheduleRow,
  window: Window,
): Promise<void> {
  const account_id = session.account.id;
  if (await session.transaction.getAllowanceGrant(account_id, rule.id, window.start_ms)) return;
  const source = schedule.plan_id === null ? 'allowance' : 'plan';

  const ending = await endingGrant(session, rule, window, schedule.anchor_ms);
  if (
    ending &&
    rule.rollover.mode !== 'none' &&
    ending.expires_at_ms !== null &&
    ending.expires_at_ms <= window.start_ms
  ) {
    const carried =
      rule.rollover.mode === 'full'
        ? ending.remaining_micros
        : ending.remaining_micros < rule.rollover.max_micros
          ? ending.remaining_micros
          : rule.rollover.max_micros;
    if (carried > 0n) {
      const expires_at_ms =
        rule.rollover.mode === 'full'
          ? null
          : endAfterPeriods(session, rule, window, rule.rollover.max_periods ?? 1, schedule.anchor_ms);
      await session.carryOver(ending, carried, {
        id: session.newGrantId(),
        kind: rule.kind,
        priority: session.priorityOf(rule.kind),
        amount_micros: carried,
        effective_at_ms: window.start_ms,
        expires_at_ms,
        source: 'rollover',
        reason: `rollover of ${rule.id}`,
        allowed_operations: null,
        refund_of_charge_id: null,
        metadata: {},
        allowance_id: `${rule.id}${ROLLOVER_SUFFIX}`,
        period_start_ms: window.start_ms,
        requires_subscription: rule.requires_subscription,
      });
    }
  }
  if (rule.reset) {
    // Reset: whatever is left of this allowance's earlier grants ends as the new one begins.
    for (const grant of [...(await session.openGrants()).values()]) {
      if (grant.allowance_id === rule.id && (grant.period_start_ms ?? 0) < window.start_ms) {
        // One that had expired before the period began (booked late) ends at its own expiry.
        const ended_ms =
          grant.expires_at_ms !== null && grant.expires_at_ms < window.start_ms
            ? grant.expires_at_ms
            : Math.max(window.start_ms, grant.effective_at_ms);
        await session.closeGrant(grant, 'expired', ended_ms);
      }
    }
  }
  const id = session.newGrantId();
  await session.issueGrant(
    {
      id,
      kind: rule.kind,
      priority: session.priorityOf(rule.kind),
      amount_micros: rule.amount_micros,
      effective_at_ms: window.start_ms,
      expires_at_ms: allowanceExpiry(rule, window),
      source,
      reason: `${rule.id} ${new Date(window.start_ms).toISOString()}`,
      allowed_operations: null,
      refund_of_charge_id: null,
      metadata: {},
      allowance_id: rule.id,
      period_start_ms: window.start_ms,
      requires_subscription: rule.requires_subscription,
    },
    { from: 'issued', type: 'grant_issue', reference_id: id },
  );
}

/** Issues every period of every schedule that began before `until_ms` (exclusive) and by now. */
async function issueDuePeriods(
  session: AccountSession,
  config: TallyConfig,
  until_ms: number,
): Promise<void> {
  for (const schedule of await session.transaction.listAllowanceSchedules(session.account.id)) {
    const rule = scheduledRule(config, schedule, session.subscription);
    if (!rule) {
      // The configuration dropped this allowance: stop issuing it.
      await session.transaction.deleteAllowanceSchedule(session.account.id, schedule.allowance_id);
      continue;
    }
    while (schedule.next_period_start_ms <= session.now_ms && schedule.next_period_start_ms < until_ms) {
      const containing = windowOf(session, rule, schedule.next_period_start_ms, schedule.anchor_ms);
      // A schedule made under another division of time (calendar months, before anniversaries
      // were the default) goes on from where its last period ended, up to the next boundary of
      // the new one: no period is issued twice and none is skipped.
      const window =
        containing.start_ms < schedule.next_period_start_ms
          ? { start_ms: schedule.next_period_start_ms, end_ms: containing.end_ms }
          : containing;
      await issuePeriod(session, rule, schedule, window);
      schedule.next_period_start_ms = window.end_ms;
    }
    await session.transaction.putAllowanceSchedule(schedule);
  }
}

/** A subscription's period ended at `ended_at_ms`: cancel, switch to a pending downgrade, or renew. */
async function endPeriod(
  session: AccountSession,
  config: TallyConfig,
  subscription: SubscriptionRow,
): Promise<void> {
  const ended_at_ms = subscription.current_period_end_ms;
  if (subscription.cancel_at_period_end) {
    subscription.status = 'canceled';
    subscription.ended_at_ms = ended_at_ms;
    await unscheduleAllowances(session, subscription.plan_id);
    await session.emit('subscription.canceled', {
      plan: subscription.plan_id,
      ended_at: new Date(ended_at_ms).toISOString(),
    });
  } else {
    if (subscription.pending_plan_id !== null) {
      const from = subscription.plan_id;
      await unscheduleAllowances(session, from);
      subscription.plan_id = subscription.pending_plan_id;
      subscription.pending_plan_id = null;
      const plan = config.plans.get(subscription.plan_id);
      if (plan)
        await scheduleAllowances(session, plan.allowances, plan.id, subscription.anchor_ms, ended_at_ms);
      await session.emit('subscription.updated', { plan: subscription.plan_id, previous_plan: from });
    }
    const next = periodContaining(
      ended_at_ms,
      'billing_cycle',
      session.account.timezone,
      subscription.anchor_ms,
    );
    subscription.current_period_start_ms = next.start_ms;
    subscription.current_period_end_ms = next.end_ms;
    await session.emit('subscription.renewed', {
      plan: subscription.plan_id,
      current_period_end: new Date(next.end_ms).toISOString(),
    });
  }
  subscription.updated_at_ms = session.now_ms;
  await session.transaction.putSubscription(subscription);
}

/** Runs everything scheduled up to now, in time order, and records when the next work falls due. */
export async function runSchedules(session: AccountSession, config: TallyConfig): Promise<void> {
  for (;;) {
    const subscription = session.subscription;
    const boundary_ms =
      subscription?.status === 'active' ? subscription.current_period_end_ms : Number.POSITIVE_INFINITY;
    await issueDuePeriods(session, config, boundary_ms);
    if (!subscription || boundary_ms > session.now_ms) break;
    await endPeriod(session, config, subscription);
  }
  const schedules = await session.transaction.listAllowanceSchedules(session.account.id);
  const due = [
    ...schedules.map((schedule) => schedule.next_period_start_ms),
    ...(session.subscription?.status === 'active' ? [session.subscription.current_period_end_ms] : []),
  ];
  const schedule_due_at_ms = due.length === 0 ? null : Math.min(...due);
  if (schedule_due_at_ms !== session.account.schedule_due_at_ms) {
    session.account.schedule_due_at_ms = schedule_due_at_ms;
    await session.transaction.updateAccount(session.account);
  }
}
