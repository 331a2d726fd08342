/** Plans as the API shows them (`GET /v1/plans`). */
import type { z } from 'zod';
import { formatCredits } from '../domain/credits.ts';
import type { AllowanceRule, LimitRule, Plan } from '../domain/plans.ts';
import type { allowanceAnswer, planAnswer } from '../schema/answers.ts';

export type AllowanceView = z.infer<typeof allowanceAnswer>;

export const allowanceView = (rule: AllowanceRule): AllowanceView => ({
  id: rule.id,
  kind: rule.kind,
  amount: formatCredits(rule.amount_micros),
  period: rule.period === 'monthly_anniversary' ? 'monthly' : rule.period,
  month_starts:
    rule.period === 'monthly_anniversary' ? 'signup' : rule.period === 'monthly' ? 'calendar' : null,
  expires: 'after_days' in rule.expires ? { after_days: rule.expires.after_days } : rule.expires.at,
  rollover:
    rule.rollover.mode === 'capped'
      ? { max_credits: formatCredits(rule.rollover.max_micros), max_periods: rule.rollover.max_periods }
      : rule.rollover.mode,
  reset: rule.reset,
  requires_subscription: rule.requires_subscription,
});

export const limitRuleView = (rule: LimitRule) => ({
  id: rule.id,
  window: rule.window,
  max: formatCredits(rule.max_micros),
  kinds: rule.kinds,
  operations: rule.operations,
});

export type PlanView = z.infer<typeof planAnswer>;

export const planView = (plan: Plan): PlanView => ({
  id: plan.id,
  name: plan.name,
  price: plan.price,
  rank: plan.rank,
  allowances: plan.allowances.map(allowanceView),
  limits: plan.limits.map(limitRuleView),
  entitlements: plan.entitlements,
});
