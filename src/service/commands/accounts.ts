/** Accounts (SPEC §1): who holds credits, in which timezone, on which plan. */
import { GENESIS_HASH } from '../../domain/journal.ts';
import { TallyError } from '../../domain/results.ts';
import { accountSettingsInput, putAccountInput } from '../../schema/commands.ts';
import type { AccountRow } from '../../store/store.ts';
import { AccountSession } from '../account-session.ts';
import { runSchedules, scheduleAllowances } from '../schedules.ts';
import { changeSubscription, planOf, subscriptionView } from '../subscriptions.ts';
import { accountView } from '../views.ts';
import { command } from './command.ts';

/** Creates an account or updates it; with `plan`, also subscribes it or changes its plan (an upgrade now, a downgrade at period end). Safe to repeat. */
export const putAccountCommand = command({
  name: 'put_account',
  input: putAccountInput,
  audited: true,
  account: (input) => input.id,
  run: async ({ transaction, now_ms, engine, environment }, account) => {
    if (account.plan !== undefined) planOf(engine.config, account.plan);
    const existing = await transaction.getAccountForUpdate(account.id);
    if (existing) {
      if (existing.kind !== account.kind) {
        throw new TallyError('account_kind_mismatch', `${account.id} is a ${existing.kind} account`);
      }
      const updated = {
        ...existing,
        timezone: account.timezone ?? existing.timezone,
        metadata: account.metadata ?? existing.metadata,
        low_balance_threshold_micros:
          account.low_balance_threshold === undefined
            ? existing.low_balance_threshold_micros
            : account.low_balance_threshold,
        updated_at_ms: now_ms,
      };
      await transaction.updateAccount(updated);
      const current = await transaction.getSubscription(account.id);
      const on_plan = current?.status === 'active' && current.plan_id === account.plan;
      if (account.plan === undefined || on_plan)
        return { ...accountView(updated), subscription: current ? subscriptionView(current) : null };
      const session = await AccountSession.open(transaction, account.id, environment);
      const { subscription } = await changeSubscription(session, engine.config, { plan: account.plan });
      return { ...accountView(session.account), subscription };
    }
    const row: AccountRow = {
      id: account.id,
      kind: account.kind,
      timezone: account.timezone ?? 'UTC',
      status: 'active' as const,
      metadata: account.metadata ?? {},
      low_balance_threshold_micros: account.low_balance_threshold ?? null,
      auto_recharge_below_micros: null,
      debt_micros: 0n,
      balance_alert: 'none',
      schedule_due_at_ms: null,
      ledger: { sequence: 0, hash: GENESIS_HASH },
      created_at_ms: now_ms,
      updated_at_ms: now_ms,
    };
    await transaction.insertAccount(row);
    // Allowances every account has (free monthly credits, daily credits) start with the current period.
    const session = await AccountSession.open(transaction, row.id, environment);
    await scheduleAllowances(session, engine.config.allowances, null, now_ms, now_ms);
    await runSchedules(session, engine.config);
    const subscribed =
      account.plan === undefined
        ? null
        : (await changeSubscription(session, engine.config, { plan: account.plan })).subscription;
    await session.startAlertQuietly();
    return { ...accountView(session.account), subscription: subscribed };
  },
});

/** The settings a customer may change themselves: the low-balance threshold. */
export const accountSettingsCommand = command({
  name: 'account_settings',
  input: accountSettingsInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, environment }, request) => {
    const session = await AccountSession.open(transaction, request.account, environment);
    if (request.low_balance_threshold !== undefined)
      session.account.low_balance_threshold_micros = request.low_balance_threshold;
    session.account.updated_at_ms = now_ms;
    await transaction.updateAccount(session.account);
    return accountView(session.account);
  },
});
