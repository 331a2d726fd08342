/**
 * Tally as another project gets it: `npm pack`, the tarball installed into an empty project,
 * and there, with plain Node, the README's library example, the CLI, and a TypeScript consumer
 * type-checked against the shipped declarations.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
/** Runs a command; a failure says what it printed. */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 240_000,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${args.at(-1)} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

let project: string;

/**
 * A copy of this checkout's files, built and packed there: building in place would replace
 * dist/ (and, through `prepare`, dashboard/dist/) under the tests that run beside this one.
 */
function packCopy(into: string): string {
  const copy = join(into, 'source');
  const files = run('git', ['ls-files', '--cached', '--others', '--exclude-standard'], ROOT).split('\n');
  for (const file of files.filter(Boolean)) {
    if (!existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(copy, file));
  }
  cpSync(join(ROOT, 'dashboard/dist'), join(copy, 'dashboard/dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  run(process.execPath, ['scripts/build-package.mjs'], copy);
  run('npm', ['pack', '--ignore-scripts', '--pack-destination', into], copy);
  return readdirSync(into).find((name) => name.endsWith('.tgz'))!;
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'tally-consumer-'));
  const tarball = packCopy(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', type: 'module', private: true }),
  );
  // Scripts off: better-sqlite3 would compile its addon for minutes (no prebuilt binary is
  // reachable here); this checkout's build of it is the same module for the same Node.
  run(
    'npm',
    ['install', join(project, tarball), '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    project,
  );
  const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  mkdirSync(join(project, 'node_modules/better-sqlite3/build/Release'), { recursive: true });
  copyFileSync(join(ROOT, addon), join(project, addon));
}, 300_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships JavaScript, declarations and the built dashboard, and no TypeScript sources or tests', () => {
    const installed = join(project, 'node_modules/tally');
    expect(existsSync(join(installed, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'dashboard/dist/index.html'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(installed, 'examples/presets.test.ts'))).toBe(false);
    // The declarations import each other as .js, as a consumer's compiler expects.
    expect(readFileSync(join(installed, 'dist/index.d.ts'), 'utf8')).not.toMatch(/from '\.[^']*\.ts'/);
  });

  it("runs the README's library example with plain node in a new folder, creating its database folder", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = /## The library in ten lines\n\n```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    writeFileSync(join(project, 'example.mjs'), example);
    expect(run(process.execPath, ['example.mjs'], project).trim()).toBe('1.09 2498.91');
    expect(existsSync(join(project, 'data/app.db'))).toBe(true);
  });

  it('type-checks a TypeScript consumer against the shipped declarations, and catches a wrong use', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    const consumer = `import { createTally, presets, type Tally } from 'tally';
import { TallyClient } from 'tally/sdk';
const tally: Tally = await createTally({ config: presets['prompt-marketplace'] });
const balance = await tally.getBalance('alice');
const available: string = balance.available;
const client = new TallyClient({ url: 'http://127.0.0.1:8787', credential: 'sk_read_x' });
void client;
console.log(available);
`;
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    writeFileSync(join(project, 'consumer.ts'), consumer);
    expect(run(process.execPath, [tsc, '-p', '.'], project)).toBe('');
    // The same consumer with a wrong type is refused: the declarations carry real types.
    writeFileSync(
      join(project, 'consumer.ts'),
      consumer.replace('const available: string', 'const available: number'),
    );
    expect(() => run(process.execPath, [tsc, '-p', '.'], project)).toThrow(/TS2322/);
  });

  it('runs the CLI from the build', () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect(run(process.execPath, ['node_modules/tally/bin/tally.js', '--version'], project).trim()).toBe(
      version,
    );
  });
});
