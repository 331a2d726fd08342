/** The measuring kit of the benchmarks: closed-loop and open-loop drivers and percentiles. */

export interface Measured {
  operations: number;
  seconds: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
}

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

function summarize(latencies: number[], seconds: number): Measured {
  latencies.sort((a, b) => a - b);
  return {
    operations: latencies.length,
    seconds,
    per_second: latencies.length / seconds,
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
  };
}

/** `concurrency` callers each run `operation` back to back for `duration_ms` (a closed loop). */
export async function closedLoop(
  concurrency: number,
  duration_ms: number,
  operation: (caller: number, index: number) => Promise<void>,
): Promise<Measured> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + duration_ms;
  let index = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      while (performance.now() < deadline) {
        const begin = performance.now();
        await operation(caller, index++);
        latencies.push(performance.now() - begin);
      }
    }),
  );
  return summarize(latencies, (performance.now() - started) / 1000);
}

/**
 * Operations start at a fixed rate whatever the answers do (an open loop), and each latency is
 * measured from when it was due to start, so a slow server cannot hide its queue.
 */
export async function openLoop(
  rate_per_second: number,
  duration_ms: number,
  operation: (index: number) => Promise<void>,
): Promise<Measured> {
  const latencies: number[] = [];
  const started = performance.now();
  const total = Math.floor((rate_per_second * duration_ms) / 1000);
  const running: Promise<void>[] = [];
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / rate_per_second;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    // A timer's granularity is a millisecond: an operation may start a little before it is due,
    // and is then measured from when it started.
    const start = Math.min(due, performance.now());
    running.push(operation(index).then(() => void latencies.push(performance.now() - start)));
  }
  await Promise.all(running);
  return summarize(latencies, (performance.now() - started) / 1000);
}

/** One caller, `count` times in a row: latency without contention. */
export async function sequential(
  count: number,
  operation: (index: number) => Promise<void>,
): Promise<Measured> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let index = 0; index < count; index++) {
    const begin = performance.now();
    await operation(index);
    latencies.push(performance.now() - begin);
  }
  return summarize(latencies, (performance.now() - started) / 1000);
}
