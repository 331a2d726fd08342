/**
 * The engine on a worker thread (issue 23's measurement): Tally and its SQLite store — the
 * connection, every command's work and each group's COMMIT — run on a thread of their own, and
 * the HTTP server on the main thread hands them each call as a message. What it measures is
 * whether taking the engine off the thread that parses and answers requests helps H1's throughput
 * or its tail on this machine.
 *
 * A call is its method's path on Tally (`['run']`, `['access', 'authenticate']`) and its
 * arguments, copied by the structured clone (bigints and Maps included); a command goes by its
 * name. A refusal comes back as its code and detail and is thrown again as the TallyError it was,
 * so the HTTP layer answers it as it would in one thread.
 *
 * Like http-load.ts, this file is both sides: imported on the main thread it starts the worker,
 * and run as the worker (after registering tsx, which a worker does not inherit) it serves it.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { TallyError } from '../src/domain/results.ts';
import type { Tally } from '../src/service/tally.ts';

/** Marks the worker that serves the engine. */
const ENGINE_THREAD = 'tally-engine-thread';

interface EngineThreadData {
  kind: typeof ENGINE_THREAD;
  filename: string;
  config: unknown;
}

interface Call {
  id: number;
  path: string[];
  args: unknown[];
}

type Reply =
  | { id: number; ok: true; value: unknown; replayed: boolean }
  | {
      id: number;
      ok: false;
      message: string;
      refusal?: { code: string; detail: string; errors: unknown; extensions: Record<string, unknown> };
    };

/** Whether a call is `tally.run(command, input, options)`: its command goes by name, its callback stays behind. */
const isRun = (path: readonly string[]) => path.length === 1 && path[0] === 'run';

export interface EngineThread {
  /** Tally's methods, each one a message to the engine thread and its answer. */
  tally: Tally;
  close(): Promise<void>;
}

/** Starts the engine on a worker thread with its store on `filename`, and answers once it is open. */
export async function startEngineThread(options: {
  filename: string;
  config: unknown;
}): Promise<EngineThread> {
  const here = new URL(import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(here)}); });`;
  const worker = new Worker(boot, {
    eval: true,
    workerData: { kind: ENGINE_THREAD, ...options } satisfies EngineThreadData,
  });
  const waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  let next_id = 0;
  const failed = (error: Error) => {
    for (const call of waiting.values()) call.reject(error);
    waiting.clear();
  };
  worker.on('error', failed);
  worker.on('message', (reply: Reply | 'ready') => {
    if (reply === 'ready') return;
    const call = waiting.get(reply.id);
    waiting.delete(reply.id);
    call?.resolve(reply);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });

  const call = async (path: string[], args: unknown[]): Promise<unknown> => {
    const id = next_id++;
    // A command goes by its name; a callback stays here (the replay flag comes back with the answer).
    let on_replay: (() => void) | undefined;
    let sent = args;
    if (isRun(path)) {
      const [command, input, given_options] = args as [{ name: string }, unknown, Record<string, unknown>?];
      const { on_replay: callback, ...plain } = given_options ?? {};
      on_replay = callback as (() => void) | undefined;
      sent = [command.name, input, plain];
    }
    const reply = await new Promise<Reply>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, path, args: sent } satisfies Call);
    });
    if (!reply.ok) {
      if (!reply.refusal) throw new Error(reply.message);
      const { code, detail, errors, extensions } = reply.refusal;
      throw new TallyError(code as never, detail, { errors: errors as never, extensions });
    }
    if (reply.replayed) on_replay?.();
    return reply.value;
  };

  const remote = (path: string[]): unknown =>
    new Proxy(() => undefined, {
      // Not a promise: awaiting the proxy must not call it.
      get: (_target, property) => (property === 'then' ? undefined : remote([...path, String(property)])),
      apply: (_target, _this, args: unknown[]) => call(path, args),
    });

  return {
    tally: remote([]) as Tally,
    close: async () => {
      await call(['close'], []);
      await worker.terminate();
    },
  };
}

/** The worker's side: opens the store and Tally, then runs each call it is sent. */
async function serveEngine(data: EngineThreadData): Promise<void> {
  const { createTally } = await import('../src/index.ts');
  const { SqliteStore } = await import('../src/store/sqlite/sqlite-store.ts');
  const runs = await import('../src/service/commands/runs.ts');
  const commands = new Map<string, unknown>();
  for (const exported of Object.values(runs)) {
    if (exported && typeof exported === 'object' && 'name' in exported && 'run' in exported)
      commands.set(String(exported.name), exported);
  }
  const tally = await createTally({
    store: new SqliteStore({ filename: data.filename }),
    config: data.config as never,
  });
  const port = parentPort!;
  port.on('message', async ({ id, path, args }: Call) => {
    let reply: Reply;
    try {
      let replayed = false;
      let target: unknown = tally;
      for (const step of path.slice(0, -1)) target = (target as Record<string, unknown>)[step];
      const method = (target as Record<string, (...given: unknown[]) => unknown>)[path.at(-1)!]!;
      let given = args;
      if (isRun(path)) {
        const [name, input, options] = args as [string, unknown, Record<string, unknown>];
        const command = commands.get(name);
        if (!command) throw new Error(`the engine thread does not serve the command ${name}`);
        const on_replay = () => {
          replayed = true;
        };
        given = [command, input, { ...options, on_replay }];
      }
      reply = { id, ok: true, value: await method.apply(target, given), replayed };
    } catch (error) {
      reply =
        error instanceof TallyError
          ? {
              id,
              ok: false,
              message: error.message,
              refusal: {
                code: error.code,
                detail: error.message,
                errors: error.errors,
                extensions: error.extensions,
              },
            }
          : { id, ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage('ready');
}

if (!isMainThread && (workerData as EngineThreadData | undefined)?.kind === ENGINE_THREAD) {
  await serveEngine(workerData as EngineThreadData);
}
