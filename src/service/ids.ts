/**
 * Identifiers: a readable prefix and a ULID made from the engine clock, so ids sort in the
 * order things happened (cursor paging relies on it) even under a test clock.
 */
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulidx';

export type IdPrefix =
  | 'gr'
  | 'rsv'
  | 'ch'
  | 'rf'
  | 'jtx'
  | 'key'
  | 'pxk'
  | 'evt'
  | 'whe'
  | 'whd'
  | 'aud'
  /** A purchase, and a refund of one. */
  | 'pur'
  | 'prf'
  /** A creator payout. */
  | 'po'
  /** A compensation, an incident. */
  | 'cmp'
  | 'inc';

/** Random bytes drawn from the OS at a time: ulidx would otherwise ask once per character. */
const RANDOM_POOL_BYTES = 4_096;

/** A cryptographic PRNG for ulidx, in [0, 1) with 1/256 steps (it needs 32 values per character). */
function pooledRandom(): () => number {
  const pool = new Uint8Array(RANDOM_POOL_BYTES);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return pool[next++]! / 256;
  };
}

export class IdGenerator {
  private readonly ulid = monotonicFactory(pooledRandom());

  next(prefix: IdPrefix, now_ms: number): string {
    return `${prefix}_${this.ulid(now_ms).toLowerCase()}`;
  }
}
