/**
 * HTTP load, generated in a child process: its own event loop, heap and core, as a client on
 * another machine would have. Driven from the server's own thread, every request also paid for
 * the client's work, its garbage collections and its late timers, and the client took CPU time
 * from the one thread the server has.
 *
 * Requests go through `node:http` with keep-alive connections, not `fetch`: on this machine's two
 * cores, `fetch` (undici's WHATWG streams and headers) cost the client several times what the
 * echo route costs the server, so the client was what the figures measured: the echo route
 * answered ~4,000 requests/s to `fetch` and ~18,600 to `node:http`, and its p99 at 1,800
 * requests/s was 9.8 ms against 0.8 ms (bench/README.md).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
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

/** The connections of the load: as many as the closed loop has callers, kept open. */
const CONNECTIONS_MAX = 64;

interface Answer {
  status: number;
  body: string;
}

/** A POST on a kept-alive connection, its whole answer read. */
function post(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function succeeded(answer: Answer): boolean {
  return answer.status >= 200 && answer.status < 300;
}

function operationOf(operation: HttpOperation): (index: number) => Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS_MAX });
  if (operation.kind === 'echo') {
    const url = new URL(operation.url);
    const headers = { 'content-type': 'application/json' };
    return async () => {
      const answer = await post(agent, url, headers, operation.body);
      if (!succeeded(answer)) throw new Error(`echo answered ${answer.status}`);
      JSON.parse(answer.body);
    };
  }
  const headers = { authorization: `Bearer ${operation.admin_key}`, 'content-type': 'application/json' };
  const reservations = new URL(`${operation.url}/v1/reservations`);
  // Every command under its own idempotency key, as the API asks clients to send them.
  const job_id = randomUUID();
  return async (index) => {
    const reserve = JSON.stringify({
      account: `a${index % operation.accounts}`,
      operation: 'run',
      max_credits: '3',
    });
    const keyed = (step: string) => ({ ...headers, 'idempotency-key': `${job_id}-${index}-${step}` });
    const reserved = await post(agent, reservations, keyed('reserve'), reserve);
    if (!succeeded(reserved)) throw new Error(`reserve answered ${reserved.status}`);
    const { id } = JSON.parse(reserved.body) as { id: string };
    const settle_url = new URL(`${operation.url}/v1/reservations/${id}/settle`);
    const settled = await post(agent, settle_url, keyed('settle'), '{"usage":{"credits":2}}');
    if (!succeeded(settled)) throw new Error(`settle answered ${settled.status}`);
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
