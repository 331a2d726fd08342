import { describe, expect, it } from 'vitest';
import {
  noProgressCost,
  type ReviewedRun,
  retryCycles,
  retryLoops,
  reviewThread,
  typicalCost,
} from './review.ts';

let next = 0;
const run = (operation: string, input: number, overrides: Partial<ReviewedRun> = {}): ReviewedRun => ({
  id: `ch_${next++}`,
  operation,
  model: 'm',
  usage: { input_tokens: String(input) },
  outcome: 'succeeded',
  credits_micros: BigInt(input) * 1_000n,
  created_at_ms: next * 1_000,
  ...overrides,
});

describe('thread review', () => {
  it('finds A, A, A as a retry loop (near-identical usage included), flagging the repeats only', () => {
    const runs = [
      run('plan', 1000),
      run('edit', 1000),
      run('edit', 1040),
      run('edit', 990),
      run('plan', 1000),
    ];
    expect(retryLoops(runs)).toEqual([
      {
        kind: 'retry_loop',
        runs: [runs[2]!.id, runs[3]!.id],
        detail: '3 near-identical edit requests in a row',
      },
    ]);
    expect(retryCycles(runs)).toEqual([]);
  });

  it('finds the periodic cycle A, B, A, B, A, B, and one of three requests', () => {
    const ab = [
      run('read', 500),
      run('write', 800),
      run('read', 510),
      run('write', 790),
      run('read', 500),
      run('write', 800),
    ];
    expect(retryLoops(ab)).toEqual([]);
    expect(retryCycles(ab)).toEqual([
      expect.objectContaining({ kind: 'retry_cycle', runs: ab.slice(2).map((r) => r.id) }),
    ]);
    const abc = [1, 2, 3].flatMap(() => [run('a', 100), run('b', 200), run('c', 300)]);
    expect(retryCycles(abc).map((flag) => flag.runs)).toEqual([abc.slice(3).map((r) => r.id)]);
  });

  it('does not flag a normal thread: varied work, a request asked twice, a cycle seen only twice', () => {
    const normal = [
      run('plan', 1000),
      run('edit', 3000),
      run('edit', 3000),
      run('test', 200),
      run('plan', 1000),
      run('edit', 5000),
      run('test', 200),
      run('edit', 300),
    ];
    expect(reviewThread(normal, new Map(), [])).toEqual([]);
    const twice = [run('read', 500), run('write', 800), run('read', 500), run('write', 800)];
    expect(retryCycles(twice)).toEqual([]);
  });

  it('flags failed runs that cost, outliers against the typical cost, and runs during an incident', () => {
    const failed = run('edit', 100, { outcome: 'failed' });
    const free_failure = run('edit', 100, { outcome: 'failed', credits_micros: 0n });
    const huge = run('edit', 9000);
    const during = run('plan', 100, { created_at_ms: 50_000 });
    const typical = typicalCost([100_000n, 90_000n, 110_000n, 100_000n, 120_000n]);
    expect(typical).toBe(100_000n);
    expect(typicalCost([1n, 2n])).toBeUndefined();
    const flags = reviewThread([failed, free_failure, huge, during], new Map([['edit', typical!]]), [
      { id: 'inc_1', from_ms: 49_000, to_ms: 51_000, operations: ['plan'], note: 'upstream 500s' },
      { id: 'inc_2', from_ms: 49_000, to_ms: 51_000, operations: ['image'], note: 'other' },
    ]);
    expect(flags.map((flag) => [flag.kind, flag.runs])).toEqual([
      ['failed_cost', [failed.id]],
      ['outlier', [huge.id]],
      ['incident', [during.id]],
    ]);
  });

  it('charges a run that fails or produces nothing after K identical requests by the no-progress rule', () => {
    const rule = { after_identical: 2, micros: 0n };
    const ask = (output: number, outcome: ReviewedRun['outcome'] = 'succeeded') =>
      run('build', 0, {
        usage: { input_tokens: '5000', output_tokens: String(output) },
        outcome,
        credits_micros: 9_000_000n,
      });
    const before = [ask(300), ask(280)];
    expect(noProgressCost(rule, ask(0), before, 9_000_000n)).toBe(0n);
    expect(noProgressCost(rule, ask(250, 'failed'), before, 9_000_000n)).toBe(0n);
    // A run that made progress, too few repeats, another request, or no rule: the full price.
    expect(noProgressCost(rule, ask(250), before, 9_000_000n)).toBe(9_000_000n);
    expect(noProgressCost(rule, ask(0), before.slice(1), 9_000_000n)).toBe(9_000_000n);
    expect(noProgressCost(rule, ask(0), [ask(300), run('build', 90_000)], 9_000_000n)).toBe(9_000_000n);
    expect(noProgressCost(undefined, ask(0), before, 9_000_000n)).toBe(9_000_000n);
    expect(noProgressCost({ after_identical: 2, micros: 1_000_000n }, ask(0), before, 9_000_000n)).toBe(
      1_000_000n,
    );
  });
});
