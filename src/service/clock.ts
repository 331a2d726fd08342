/**
 * The one clock source of the engine (SPEC C3). Everything that needs the time asks the
 * clock it was given; tests and `--test-clock` servers move a TestClock instead of sleeping.
 */
export interface Clock {
  now_ms(): number;
}

export const systemClock: Clock = { now_ms: () => Date.now() };

export class TestClock implements Clock {
  private current_ms: number;

  constructor(start: number | string = '2026-01-01T00:00:00Z') {
    this.current_ms = typeof start === 'number' ? start : Date.parse(start);
  }

  now_ms(): number {
    return this.current_ms;
  }

  /** Moves time forward; a test clock never goes back, as the real one would not. */
  advance(milliseconds: number): void {
    if (milliseconds < 0) throw new RangeError('a test clock only moves forward');
    this.current_ms += milliseconds;
  }

  advanceSeconds(seconds: number): void {
    this.advance(seconds * 1000);
  }

  set(at: number | string): void {
    const target_ms = typeof at === 'number' ? at : Date.parse(at);
    this.advance(target_ms - this.current_ms);
  }
}
