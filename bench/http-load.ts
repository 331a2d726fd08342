/**
 * HTTP load, generated in a child process: its own event loop, heap and core, as a client on
 * another machine would have. Driven from the server's own thread, every request also paid for
 * the client's fetch work, its garbage collections and its late timers, and the client took CPU
 * time from the one thread the server has.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closedLoop, type Measured, openLoop } from './measure.ts';

/** Marks the forked process that generates the load. */
const LOAD_PROCESS = '--http-load-process';

/** What each operation of the load is: one echo request, or a reserve then a settle. */
export type HttpOperation =
  | { kind: 'echo'; url: string; body: string }
  | { kind: 'pair'; url: string; admin_key: string; accounts: number };

/** How operations are driven: `concurrency` callers back to back, or a fixed arrival rate. */
export type HttpDriver =
  | { kind: 'closed'; concurrency: number; duration_ms: number }
  | { kind: 'open'; rate_per_second: number; duration_ms: number };

interface HttpLoadJob {
  operation: HttpOperation;
  driver: HttpDriver;
}

/** Runs the load in a child process and resolves with what it measured. */
export function httpLoad(operation: HttpOperation, driver: HttpDriver): Promise<Measured> {
  return new Promise((resolve, reject) => {
    // The child runs this TypeScript file too: it loads it with tsx, as `npm run bench` does.
    const child = fork(fileURLToPath(import.meta.url), [LOAD_PROCESS], { execArgv: ['--import', 'tsx'] });
    child.once('message', (measured) => {
      resolve(measured as Measured);
      child.kill();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`HTTP load process exited with ${code}`)));
    child.send({ operation, driver } satisfies HttpLoadJob);
  });
}

function operationOf(operation: HttpOperation): (index: number) => Promise<void> {
  if (operation.kind === 'echo') {
    return async () => {
      const response = await fetch(operation.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: operation.body,
      });
      await response.json();
    };
  }
  const headers = { authorization: `Bearer ${operation.admin_key}`, 'content-type': 'application/json' };
  return async (index) => {
    const reserved = await fetch(`${operation.url}/v1/reservations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ account: `a${index % operation.accounts}`, operation: 'run', max_credits: '3' }),
    });
    if (!reserved.ok) throw new Error(`reserve answered ${reserved.status}`);
    const { id } = (await reserved.json()) as { id: string };
    const settled = await fetch(`${operation.url}/v1/reservations/${id}/settle`, {
      method: 'POST',
      headers,
      body: '{"usage":{"credits":2}}',
    });
    if (!settled.ok) throw new Error(`settle answered ${settled.status}`);
    await settled.arrayBuffer();
  };
}

/** Load before measuring: a fresh process's first fetch loads undici, and its connections open. */
const WARM_UP = { concurrency: 64, duration_ms: 1_000 };

async function runJob({ operation, driver }: HttpLoadJob): Promise<Measured> {
  const run = operationOf(operation);
  await closedLoop(WARM_UP.concurrency, WARM_UP.duration_ms, (_caller, index) => run(index));
  return driver.kind === 'closed'
    ? closedLoop(driver.concurrency, driver.duration_ms, (_caller, index) => run(index))
    : openLoop(driver.rate_per_second, driver.duration_ms, run);
}

// Forked by httpLoad: the job comes as the first message, the measurement goes back as the answer.
if (process.argv.includes(LOAD_PROCESS)) {
  process.once('message', (job: HttpLoadJob) => {
    void runJob(job).then((measured) => process.send!(measured));
  });
}
