/** Plans as the API shows them (`GET /v1/plans`). */
import { formatCredits } from '../domain/credits.ts';
import type { AllowanceRule, LimitRule, Plan } from '../domain/plans.ts';

export interface AllowanceView {
  id: string;
  kind: string;
  amount: string;
  /** As configured: a monthly period starts on the account's anniversary or on the 1st (`month_starts`). */
  period: Exclude<AllowanceRule['period'], 'monthly_anniversary'>;
  month_starts: 'signup' | 'calendar' | null;
  expires: 'period_end' | 'never' | { after_days: number };
  rollover: 'none' | 'full' | { max_credits: string; max_periods: number | null };
  reset: boolean;
  requires_subscription: boolean;
}

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

export interface PlanView {
  id: string;
  name: string;
  price: { currency: string; amount_minor: number };
  rank: number;
  allowances: AllowanceView[];
  limits: ReturnType<typeof limitRuleView>[];
  entitlements: string[];
}

export const planView = (plan: Plan): PlanView => ({
  id: plan.id,
  name: plan.name,
  price: plan.price,
  rank: plan.rank,
  allowances: plan.allowances.map(allowanceView),
  limits: plan.limits.map(limitRuleView),
  entitlements: plan.entitlements,
});
