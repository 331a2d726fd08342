/** JSON encodings of row fields that hold micro-credits, shared by every store adapter. */
import type { Allocation } from '../domain/drawdown.ts';

export function encodeAllocations(allocations: readonly Allocation[]): string {
  return JSON.stringify(
    allocations.map((allocation) => [
      allocation.grant_id,
      allocation.kind,
      allocation.amount_micros.toString(),
    ]),
  );
}

export function decodeAllocations(encoded: string): Allocation[] {
  return (JSON.parse(encoded) as [string, string, string][]).map(([grant_id, kind, amount]) => ({
    grant_id,
    kind,
    amount_micros: BigInt(amount),
  }));
}
