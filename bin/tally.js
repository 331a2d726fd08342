#!/usr/bin/env node
// The `tally` command. It runs the compiled build (dist/, made by `npm run build`, which
// `npm install` runs); in a checkout whose sources changed since that build, it runs them
// directly through tsx instead, so an edit takes effect without a rebuild.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const built = new URL('dist/.built', root);
const sources = new URL('src/', root);

/** Whether any source file changed after the build (a published package has no sources). */
function sourcesNewerThan(built_ms) {
  if (!existsSync(sources)) return false;
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && statSync(`${entry.parentPath}/${entry.name}`).mtimeMs > built_ms) return true;
  }
  return false;
}

// A reader that stops early (`tally prices | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
let main;
if (existsSync(built) && !sourcesNewerThan(statSync(built).mtimeMs)) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv);
