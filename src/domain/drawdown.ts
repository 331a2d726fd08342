/**
 * Draw-down (SPEC C2): which grants pay for a run, and how much each.
 *
 * Usable grants are ordered by kind priority, then soonest expiry (never-expiring last), then
 * oldest; a grant is skipped when it is not in force at `now_ms` or a restriction forbids the
 * operation. The plan is computed purely; the service books it.
 */
import { assert } from './assert.ts';
import { minBigint } from './decimal.ts';

export interface DrawableGrant {
  id: string;
  kind: string;
  priority: number;
  /** Credits of this grant not held and not spent. */
  available_micros: bigint;
  effective_at_ms: number;
  expires_at_ms: number | null;
  created_at_ms: number;
  /** Operations this grant may pay for (`chat.*` matches by prefix); null means any. */
  allowed_operations: readonly string[] | null;
}

export interface Allocation {
  grant_id: string;
  kind: string;
  amount_micros: bigint;
}

/** A limit's room left in its window; it caps grants of `kinds` (or every grant when null). */
export interface DrawCap {
  id: string;
  kinds: readonly string[] | null;
  headroom_micros: bigint;
}

export type DrawPlan =
  | { ok: true; allocations: Allocation[] }
  | { ok: false; available_micros: bigint; skipped: SkippedGrant[]; capped_by: string[] };

export interface SkippedGrant {
  grant_id: string;
  kind: string;
  reason: 'restricted';
  available_micros: bigint;
}

export function isInForce(
  grant: { effective_at_ms: number; expires_at_ms: number | null },
  now_ms: number,
): boolean {
  return grant.effective_at_ms <= now_ms && (grant.expires_at_ms === null || now_ms < grant.expires_at_ms);
}

export function operationAllowed(allowed_operations: readonly string[] | null, operation: string): boolean {
  if (allowed_operations === null) return true;
  return allowed_operations.some((pattern) =>
    pattern.endsWith('*') ? operation.startsWith(pattern.slice(0, -1)) : pattern === operation,
  );
}

export function compareDrawOrder(a: DrawableGrant, b: DrawableGrant): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.expires_at_ms !== b.expires_at_ms) {
    if (a.expires_at_ms === null) return 1;
    if (b.expires_at_ms === null) return -1;
    return a.expires_at_ms - b.expires_at_ms;
  }
  if (a.created_at_ms !== b.created_at_ms) return a.created_at_ms - b.created_at_ms;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Grants that may pay for `operation` at `now_ms`, in draw-down order. */
export function drawOrder(
  grants: readonly DrawableGrant[],
  operation: string,
  now_ms: number,
): DrawableGrant[] {
  return grants
    .filter((grant) => grant.available_micros > 0n && isInForce(grant, now_ms))
    .filter((grant) => operationAllowed(grant.allowed_operations, operation))
    .sort(compareDrawOrder);
}

/**
 * Takes `amount_micros` from the usable grants in draw-down order, never more from a grant than
 * the caps that apply to its kind leave room for (the daily cap on free credits lets the draw
 * go on to purchased ones). When the grants do not cover it, says how much they had, which
 * grants a restriction kept out and which caps ran out, so a refusal can explain itself.
 */
export function planDraw(
  grants: readonly DrawableGrant[],
  operation: string,
  amount_micros: bigint,
  now_ms: number,
  caps: readonly DrawCap[] = [],
): DrawPlan {
  assert(amount_micros >= 0n, 'a draw is never negative');
  const room = new Map(caps.map((cap) => [cap.id, cap.headroom_micros > 0n ? cap.headroom_micros : 0n]));
  const applying = (kind: string) => caps.filter((cap) => cap.kinds === null || cap.kinds.includes(kind));
  const allocations: Allocation[] = [];
  const capped_by = new Set<string>();
  let still_needed = amount_micros;
  for (const grant of drawOrder(grants, operation, now_ms)) {
    if (still_needed === 0n) break;
    let taken = minBigint(grant.available_micros, still_needed);
    for (const cap of applying(grant.kind)) {
      const left = room.get(cap.id)!;
      if (left < taken) {
        taken = left;
        capped_by.add(cap.id);
      }
    }
    if (taken === 0n) continue;
    for (const cap of applying(grant.kind)) room.set(cap.id, room.get(cap.id)! - taken);
    allocations.push({ grant_id: grant.id, kind: grant.kind, amount_micros: taken });
    still_needed -= taken;
  }
  if (still_needed === 0n) return { ok: true, allocations };
  const skipped = grants
    .filter((grant) => grant.available_micros > 0n && isInForce(grant, now_ms))
    .filter((grant) => !operationAllowed(grant.allowed_operations, operation))
    .map((grant) => ({
      grant_id: grant.id,
      kind: grant.kind,
      reason: 'restricted' as const,
      available_micros: grant.available_micros,
    }));
  return { ok: false, available_micros: amount_micros - still_needed, skipped, capped_by: [...capped_by] };
}

/**
 * Splits what a settled run used across the grants its reservation held, in the order they
 * were drawn: the first-drawn grants pay first, so unused credits go back to the last ones.
 */
export function splitSettlement(
  held: readonly Allocation[],
  used_micros: bigint,
): { used: Allocation[]; unused: Allocation[] } {
  const used: Allocation[] = [];
  const unused: Allocation[] = [];
  let left_to_use = used_micros;
  for (const allocation of held) {
    const take = minBigint(allocation.amount_micros, left_to_use);
    left_to_use -= take;
    if (take > 0n) used.push({ ...allocation, amount_micros: take });
    if (allocation.amount_micros - take > 0n)
      unused.push({ ...allocation, amount_micros: allocation.amount_micros - take });
  }
  assert(left_to_use === 0n, 'a settlement uses at most what was held');
  return { used, unused };
}
