/** `npm start` runs `tally serve --demo`: a real process on a real port, stopped with SIGTERM. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const directory = mkdtempSync(join(tmpdir(), 'tally-serve-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A demo server started as a user would, once it has printed everything it prints on start. */
async function started(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{
  child: ChildProcess;
  output: () => string;
  url: string | undefined;
  exited: Promise<number | null>;
}> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  // The demo's last line names the customer token.
  while (!/customer token \(/.test(output) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return { child, output: () => output, url: /listening on (http:\/\/\S+)/.exec(output)?.[1], exited };
}

const serveDemo = (database: string, env: NodeJS.ProcessEnv) =>
  started(process.execPath, ['bin/tally.js', 'serve', '--demo', '--db', database, '--port', '0'], env);

it('starts, answers /healthz and /v1/prices, accepts TALLY_ADMIN_KEY, and stops cleanly on SIGTERM', async () => {
  const admin = 'sk_admin_from_environment_0123456789';
  const { child, output, url, exited } = await serveDemo(join(directory, 'tally.db'), {
    ...process.env,
    TALLY_ADMIN_KEY: admin,
  });
  expect(url, output()).toBeDefined();
  // The admin key named in the environment is the one to use: none is made.
  expect(output()).toContain(`admin key                  ${admin} (TALLY_ADMIN_KEY)`);
  expect(output()).toContain(`dashboard      ${url}/`);
  expect(output()).toContain(`${url}/docs`);

  expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
  const prices = (await (await fetch(`${url}/v1/prices`)).json()) as { operations: { id: string }[] };
  expect(prices.operations.map((operation) => operation.id)).toEqual([
    'prompt.refine',
    'prompt.run',
    'prompt.run.premium',
  ]);
  const balance = await fetch(`${url}/v1/accounts/demo-user/balance`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(((await balance.json()) as { available: string }).available).toBe('2498.91');

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output()).toContain('stopping…');
});

it('makes the demo admin key on the first start only, and says where it is on the next', async () => {
  const database = join(directory, 'keys.db');
  const { TALLY_ADMIN_KEY: _unset, ...env } = process.env;
  const start = async () => {
    const server = await serveDemo(database, env);
    server.child.kill('SIGTERM');
    await server.exited;
    return server.output();
  };
  const first = await start();
  expect(first, first).toMatch(/admin key\s+sk_admin_\S+ \(shown once/);
  const second = await start();
  expect(second).not.toMatch(/sk_admin_\S{20,}/);
  expect(second).toContain('the one printed on the first start');
  // One admin key in the database, not one per start.
  const { createTally } = await import('../index.ts');
  const tally = await createTally({ database });
  const keys = await tally.access.listKeys();
  expect(keys.data.filter((key) => key.scope === 'admin')).toHaveLength(1);
  await tally.close();
});

it('npm start stops with npm: a SIGTERM to the npm process stops the server on its port', async () => {
  const { child, output, url, exited } = await started(
    'npm',
    ['start', '--', '--db', join(directory, 'npm-start.db')],
    { ...process.env, PORT: '0' },
  );
  expect(url, output()).toBeDefined();
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  child.kill('SIGTERM');
  await exited;
  // The server went with npm: nothing answers on its port any more.
  await expect
    .poll(
      () =>
        fetch(`${url}/healthz`).then(
          () => 'answering',
          () => 'stopped',
        ),
      { timeout: 10_000 },
    )
    .toBe('stopped');
});
