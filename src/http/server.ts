/**
 * Runs the HTTP API on a port, with the background pass that books due work on the real
 * clock (a test clock books it when it is moved instead). Balances never wait for that pass.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { TestClock } from '../service/clock.ts';
import type { Tally } from '../service/tally.ts';
import { createApp } from './app.ts';

/**
 * How often a server on the real clock books reservations past their TTL and grants past their
 * expiry, and delivers the webhooks that are due.
 */
export const DUE_WORK_INTERVAL_MS = 2_000;

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(options: {
  tally: Tally;
  port: number;
  hostname?: string;
  test_clock?: TestClock;
  /** What to serve instead of the whole API (`tally proxy` serves the metering proxy alone). */
  app?: Hono;
}): Promise<RunningServer> {
  const app = options.app ?? createApp({ tally: options.tally, test_clock: options.test_clock });
  const hostname = options.hostname ?? '127.0.0.1';
  const { server, address } = await new Promise<{ server: ReturnType<typeof serve>; address: AddressInfo }>(
    (resolve, reject) => {
      const started = serve({ fetch: app.fetch, port: options.port, hostname }, (info) =>
        resolve({ server: started, address: info }),
      );
      // A port in use (EADDRINUSE) or not allowed (EACCES) fails the start, not the process.
      started.once('error', reject);
    },
  );
  let due_work: Promise<unknown> | undefined;
  const timer = options.test_clock
    ? undefined
    : setInterval(() => {
        // A pass that outlasts the interval is not overlapped by the next one.
        due_work ??= options.tally
          .bookDueWork()
          .then(() => options.tally.payments.processDue())
          .then(() => options.tally.webhooks.dispatch())
          .catch((error: unknown) => console.error('due work failed:', error))
          .finally(() => {
            due_work = undefined;
          });
      }, DUE_WORK_INTERVAL_MS);
  return {
    url: `http://${hostname}:${address.port}`,
    close: async () => {
      if (timer) clearInterval(timer);
      await due_work;
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
