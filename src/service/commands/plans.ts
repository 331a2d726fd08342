/** Plans, subscriptions and limits (SPEC C7, C8). */

import type { z } from 'zod';
import { formatCredits } from '../../domain/credits.ts';
import { formatDecimal } from '../../domain/decimal.ts';
import { TallyError } from '../../domain/results.ts';
import { EACH_MEMBER } from '../../domain/spending.ts';
import {
  accountIdInput,
  planOverridesInput,
  putLimitInput,
  subscriptionInput,
} from '../../schema/commands.ts';
import type { SubscriptionOverrides } from '../../store/store.ts';
import { AccountSession } from '../account-session.ts';
import { effectiveLimits, limitKey, limitView } from '../limits.ts';
import { cancelSubscription, changeSubscription, subscriptionView } from '../subscriptions.ts';
import { command } from './command.ts';
import { operationOf, statusesOf } from './runs.ts';

type OverridesRequest = Omit<z.output<typeof planOverridesInput>, 'account'>;

/** A custom plan as the subscription keeps it: amounts in micro-credits and factors as decimal strings. */
function storedOverrides(request: OverridesRequest): SubscriptionOverrides {
  const micros = (record: Record<string, bigint>) =>
    Object.fromEntries(Object.entries(record).map(([id, amount]) => [id, amount.toString()]));
  return {
    ...(request.allowances ? { allowances: micros(request.allowances) } : {}),
    ...(request.limits ? { limits: micros(request.limits) } : {}),
    ...(request.entitlements ? { entitlements: request.entitlements } : {}),
    ...(request.prices
      ? {
          prices: Object.fromEntries(
            Object.entries(request.prices).map(([id, factor]) => [id, formatDecimal(factor)]),
          ),
        }
      : {}),
  };
}

/** Subscribes or changes plan: an upgrade applies now with prorated credits, a downgrade at period end. */
export const subscribeCommand = command({
  name: 'subscribe',
  input: subscriptionInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, engine, environment }, request) => {
    const session = await AccountSession.open(transaction, request.account, environment);
    const overrides = request.overrides && storedOverrides(request.overrides);
    return changeSubscription(session, engine.config, { plan: request.plan, overrides });
  },
});

/**
 * Gives one account its own plan numbers (SPEC C7): allowance amounts, limit maxima, extra
 * entitlements and price factors. They belong to its subscription, so upgrades keep them and
 * renewals grant the amounts they say; each change is audited.
 */
export const planOverridesCommand = command({
  name: 'put_plan_overrides',
  input: planOverridesInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, engine, environment, now_ms }, { account, ...request }) => {
    const session = await AccountSession.open(transaction, account, environment);
    const subscription = session.subscription;
    if (subscription?.status !== 'active') {
      throw new TallyError(
        'subscription_not_found',
        `${account} has no plan to customise: subscribe it first`,
      );
    }
    const plan = engine.config.plans.get(subscription.plan_id)!;
    const unknown = (field: string, id: string, known: Iterable<string>) =>
      new TallyError(
        'invalid_request',
        `${field} names ${id}, which ${[...known].join(', ') || 'nothing'} does not include`,
        {
          errors: [
            {
              field: `${field}.${id}`,
              code: 'invalid_request',
              message: `is not one of ${[...known].join(', ')}`,
            },
          ],
        },
      );
    const allowance_ids = plan.allowances.map((rule) => rule.id);
    for (const id of Object.keys(request.allowances ?? {}))
      if (!allowance_ids.includes(id)) throw unknown('allowances', id, allowance_ids);
    const limit_ids = effectiveLimits(engine.config, session.account_limits, subscription).map(
      (limit) => limit.rule.id,
    );
    for (const id of Object.keys(request.limits ?? {}))
      if (!limit_ids.includes(id)) throw unknown('limits', id, limit_ids);
    const book = await engine.price_books.ofVersionInForce(transaction, session.price_version_in_force);
    for (const id of Object.keys(request.prices ?? {})) operationOf(book.operations, id);
    subscription.overrides = storedOverrides(request);
    subscription.updated_at_ms = now_ms;
    await transaction.putSubscription(subscription);
    return subscriptionView(subscription);
  },
});

/** Sets one of the account's own limits. The operator's replaces a configuration or plan limit
 * of the same id for this account. A customer's (`set_by: customer`) is a record of its own beside
 * them: both apply and the tighter wins. A customer may set any limit of their own, and one
 * with the id of a limit the operator or the configuration set only below that limit's max. */
export const putLimitCommand = command({
  name: 'put_limit',
  input: putLimitInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, engine, environment }, request) => {
    const session = await AccountSession.open(transaction, request.account, environment);
    if (request.each_member && session.account.kind !== 'team') {
      throw new TallyError(
        'account_not_team',
        `a limit on each member is for teams; ${request.account} is a user`,
      );
    }
    if (request.each_member && request.member !== undefined) {
      throw new TallyError('invalid_request', 'give member or each_member, not both', {
        errors: [{ field: 'each_member', code: 'invalid_request', message: 'cannot be given with member' }],
      });
    }
    const set_by = request.set_by === 'customer' ? 'customer' : 'operator';
    if (set_by === 'customer') {
      const managed = effectiveLimits(engine.config, session.account_limits, session.subscription).find(
        (limit) => limit.rule.id === request.id && limit.source !== 'customer',
      );
      if (managed && request.max > managed.rule.max_micros)
        throw new TallyError(
          'limit_raise_forbidden',
          `limit ${request.id} is ${formatCredits(managed.rule.max_micros)} credits, set by the ${managed.source === 'account' ? 'operator' : managed.source}; a limit of your own may only be lower`,
          { extensions: { limit_id: request.id, max: formatCredits(managed.rule.max_micros) } },
        );
    }
    await transaction.putAccountLimit({
      account_id: request.account,
      set_by,
      id: request.id,
      window: request.window,
      max_micros: request.max,
      kinds: request.kinds ?? null,
      operations: request.operations ?? null,
      member: request.each_member ? EACH_MEMBER : (request.member ?? null),
      project: request.project ?? null,
      api_key: request.api_key ?? null,
      updated_at_ms: now_ms,
    });
    session.account_limits = await transaction.listAccountLimits(request.account);
    const key = limitKey(request.id, set_by === 'customer' ? 'customer' : 'account');
    const status = (await statusesOf(engine.config)(session)).find((candidate) => candidate.key === key)!;
    return limitView(status);
  },
});

/** Cancels at the end of the current period. */
export const cancelSubscriptionCommand = command({
  name: 'cancel_subscription',
  input: accountIdInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, environment }, request) =>
    cancelSubscription(await AccountSession.open(transaction, request.account, environment)),
});
