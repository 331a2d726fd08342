/**
 * Identifiers: a readable prefix and a ULID made from the engine clock, so ids sort in the
 * order things happened (cursor paging relies on it) even under a test clock.
 */
import { monotonicFactory } from 'ulidx';

export type IdPrefix = 'gr' | 'rsv' | 'ch' | 'rf' | 'jtx' | 'key' | 'evt' | 'whe' | 'whd' | 'aud';

export class IdGenerator {
  private readonly ulid = monotonicFactory();

  next(prefix: IdPrefix, now_ms: number): string {
    return `${prefix}_${this.ulid(now_ms).toLowerCase()}`;
  }
}
