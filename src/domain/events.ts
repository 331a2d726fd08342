/**
 * Events (SPEC C12): the closed set of types, and when a balance alert fires. `balance.low`
 * fires once per crossing below the account's threshold and `balance.depleted` once per
 * reaching zero; each re-arms when the balance recovers above the line it crossed.
 */
export const EVENT_TYPES = [
  'balance.low',
  'balance.depleted',
  'grant.expiring_soon',
  'grant.expired',
  'reservation.expired',
  'limit.reached',
  'subscription.created',
  'subscription.updated',
  'subscription.renewed',
  'subscription.canceled',
  'purchase.completed',
  'purchase.failed',
  'purchase.refunded',
  'auto_recharge.failed',
  'compensation.granted',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export type BalanceAlert = 'none' | 'low' | 'depleted';

export function balanceAlert(
  available_micros: bigint,
  threshold_micros: bigint | null,
  previous: BalanceAlert,
): { alert: BalanceAlert; fire: EventType[] } {
  const low = threshold_micros !== null && available_micros < threshold_micros;
  if (available_micros === 0n) {
    const fire: EventType[] = [];
    if (previous === 'none' && threshold_micros !== null) fire.push('balance.low');
    if (previous !== 'depleted') fire.push('balance.depleted');
    return { alert: 'depleted', fire };
  }
  if (low) return { alert: 'low', fire: previous === 'none' ? ['balance.low'] : [] };
  return { alert: 'none', fire: [] };
}
