/**
 * Assertions guard invariants that only a bug can break (TIGER_STYLE): a journal transaction
 * that does not sum to zero, a grant driven below zero. They throw and are never caught as
 * refusals; the surrounding store transaction rolls back.
 */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantViolation';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}
