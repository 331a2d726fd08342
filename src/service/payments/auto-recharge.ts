/**
 * Auto-recharge (SPEC C9): a single-flight state machine per account. When a command leaves the
 * usable balance below the threshold, one recharge purchase is started in that command's
 * transaction, under the account's lock, so concurrent settles start one between them; none
 * starts while one is in flight, past the monthly ceiling, or while the settings are paused or
 * disabled. The payment itself is taken after the commit (payments.ts).
 */
import { periodContaining } from '../../domain/calendar.ts';
import { formatCredits } from '../../domain/credits.ts';
import { packCreditsWithBonus, smallestPackCovering } from '../../domain/packs.ts';
import type { AccountSession } from '../account-session.ts';
import { boughtThisMonth, newPurchase } from './purchase-ledger.ts';

export async function startAutoRecharge(session: AccountSession, available_micros: bigint): Promise<void> {
  const { config, ids } = session.environment;
  const settings = await session.transaction.getAutoRecharge(session.account.id);
  if (!settings?.enabled || settings.status !== 'active' || settings.in_flight_purchase_id !== null) return;
  if (available_micros >= settings.threshold_micros) return;
  const pack =
    settings.pack_id === null
      ? smallestPackCovering(
          config.packs.packs,
          settings.currency,
          settings.threshold_micros - available_micros,
        )
      : config.packs.by_id.get(settings.pack_id);
  // A pack removed from the configuration, or none sold in the currency: nothing to buy.
  if (!pack?.price_minor.has(settings.currency)) return;
  if (
    settings.monthly_max_micros !== null &&
    (await boughtThisMonth(session)) + packCreditsWithBonus(pack) > settings.monthly_max_micros
  ) {
    // Held back until the month ends: the background work looks again then (payments.ts).
    const next_month = periodContaining(session.now_ms, 'monthly', session.account.timezone).end_ms;
    if (settings.resume_at_ms !== next_month) {
      settings.resume_at_ms = next_month;
      settings.updated_at_ms = session.now_ms;
      await session.transaction.putAutoRecharge(settings);
    }
    return;
  }
  const purchase = newPurchase(
    ids,
    {
      account_id: session.account.id,
      pack,
      quantity: 1,
      currency: settings.currency,
      provider: config.payments.provider,
      auto_recharge: true,
    },
    session.now_ms,
  );
  purchase.reference = `below ${formatCredits(settings.threshold_micros)} credits`;
  await session.transaction.insertPurchase(purchase);
  settings.in_flight_purchase_id = purchase.id;
  settings.resume_at_ms = null;
  settings.updated_at_ms = session.now_ms;
  await session.transaction.putAutoRecharge(settings);
}
