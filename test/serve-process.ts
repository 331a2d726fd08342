/** `tally serve` as a real child process, for tests that run, load and kill whole servers. */
import { type ChildProcess, spawn } from 'node:child_process';

/** Starts `tally serve` with `args` (and TALLY_ADMIN_KEY `admin_key`); resolves once it listens. */
export async function startTallyServe(
  args: readonly string[],
  admin_key: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/tally.js', 'serve', '--port', '0', ...args], {
    env: { ...process.env, TALLY_ADMIN_KEY: admin_key },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!/listening on http/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`tally serve did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, url: /listening on (http:\/\/\S+)/.exec(output)![1]! };
}
