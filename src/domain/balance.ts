/**
 * An account's balance at an instant, computed from its grants and held reservations alone,
 * so it is exact whether or not a background job has booked what expired (SPEC C3): a grant
 * past `expires_at` counts for nothing, and credits held by a reservation past its TTL count
 * as available again.
 */
import type { Allocation, DrawableGrant } from './drawdown.ts';
import { isInForce } from './drawdown.ts';

export interface GrantForBalance {
  id: string;
  kind: string;
  remaining_micros: bigint;
  effective_at_ms: number;
  expires_at_ms: number | null;
  status: 'active' | 'expired' | 'revoked';
  /** Premium credits: usable only while the account has an active subscription. */
  requires_subscription: boolean;
}

export interface HeldReservationForBalance {
  id: string;
  expires_at_ms: number;
  allocations: readonly Allocation[];
}

/** What a grant looks like at an instant: `pending` before it takes effect, `expired` from its expiry on. */
export type GrantState = 'pending' | 'active' | 'expired' | 'revoked';

export interface GrantAtInstant {
  state: GrantState;
  /** False for premium credits while there is no active subscription: they show, but do not pay. */
  usable: boolean;
  /** Usable now: remaining plus what reservations past their TTL still hold of it. */
  available_micros: bigint;
  /** Held by reservations still within their TTL. */
  held_micros: bigint;
}

export interface KindBalance {
  available_micros: bigint;
  held_micros: bigint;
  /** In force but not usable (premium credits without a subscription, say). */
  unusable_micros: bigint;
}

export interface AccountBalance {
  available_micros: bigint;
  held_micros: bigint;
  by_kind: Map<string, KindBalance>;
  grants: Map<string, GrantAtInstant>;
  next_expiry: { amount_micros: bigint; at_ms: number } | null;
}

export function grantState(grant: GrantForBalance, now_ms: number): GrantState {
  if (grant.status !== 'active') return grant.status;
  if (grant.effective_at_ms > now_ms) return 'pending';
  return isInForce(grant, now_ms) ? 'active' : 'expired';
}

export function computeBalance(
  grants: readonly GrantForBalance[],
  held_reservations: readonly HeldReservationForBalance[],
  kinds: readonly string[],
  now_ms: number,
  subscription_active = false,
): AccountBalance {
  const held_by_grant = new Map<string, { live: bigint; lapsed: bigint }>();
  for (const reservation of held_reservations) {
    const lapsed = reservation.expires_at_ms <= now_ms;
    for (const allocation of reservation.allocations) {
      const held = held_by_grant.get(allocation.grant_id) ?? { live: 0n, lapsed: 0n };
      if (lapsed) held.lapsed += allocation.amount_micros;
      else held.live += allocation.amount_micros;
      held_by_grant.set(allocation.grant_id, held);
    }
  }

  const by_kind = new Map<string, KindBalance>(
    kinds.map((kind) => [kind, { available_micros: 0n, held_micros: 0n, unusable_micros: 0n }]),
  );
  const at_instant = new Map<string, GrantAtInstant>();
  let available_micros = 0n;
  let held_micros = 0n;
  let next_expiry: AccountBalance['next_expiry'] = null;

  for (const grant of grants) {
    const state = grantState(grant, now_ms);
    const held = held_by_grant.get(grant.id) ?? { live: 0n, lapsed: 0n };
    const in_force_micros = state === 'active' ? grant.remaining_micros + held.lapsed : 0n;
    const usable = !grant.requires_subscription || subscription_active;
    const grant_available = usable ? in_force_micros : 0n;
    at_instant.set(grant.id, { state, usable, available_micros: in_force_micros, held_micros: held.live });
    const kind = by_kind.get(grant.kind) ?? { available_micros: 0n, held_micros: 0n, unusable_micros: 0n };
    kind.available_micros += grant_available;
    kind.unusable_micros += in_force_micros - grant_available;
    kind.held_micros += held.live;
    by_kind.set(grant.kind, kind);
    available_micros += grant_available;
    held_micros += held.live;
    if (state === 'active' && grant.expires_at_ms !== null && grant_available > 0n) {
      if (!next_expiry || grant.expires_at_ms < next_expiry.at_ms) {
        next_expiry = { amount_micros: grant_available, at_ms: grant.expires_at_ms };
      } else if (grant.expires_at_ms === next_expiry.at_ms) {
        next_expiry.amount_micros += grant_available;
      }
    }
  }
  return { available_micros, held_micros, by_kind, grants: at_instant, next_expiry };
}

export type GrantForDraw = GrantForBalance & Omit<DrawableGrant, 'available_micros'>;

/** Grants as draw-down sees them at an instant, from the same computation as the balance. */
export function drawableAt(grants: readonly GrantForDraw[], balance: AccountBalance): DrawableGrant[] {
  return grants
    .filter(
      (grant) => balance.grants.get(grant.id)?.state === 'active' && balance.grants.get(grant.id)?.usable,
    )
    .map((grant) => ({
      id: grant.id,
      kind: grant.kind,
      priority: grant.priority,
      available_micros: balance.grants.get(grant.id)!.available_micros,
      effective_at_ms: grant.effective_at_ms,
      expires_at_ms: grant.expires_at_ms,
      created_at_ms: grant.created_at_ms,
      allowed_operations: grant.allowed_operations,
    }));
}
