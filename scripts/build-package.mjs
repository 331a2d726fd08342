#!/usr/bin/env node
// Builds what the npm package ships: src/ compiled to dist/ as JavaScript with type declarations
// (tsconfig.build.json). TypeScript rewrites the sources' `.ts` imports to `.js` in the JavaScript
// but keeps them in the declarations, where a consumer's compiler would refuse them (TS5097): they
// are rewritten here. Plain Node, so it runs before anything else is built.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g;
let declarations = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const path = join(entry.parentPath, entry.name);
  const text = readFileSync(path, 'utf8');
  const rewritten = text.replace(RELATIVE_TS, '$1$2.js$3');
  if (rewritten !== text) writeFileSync(path, rewritten);
  declarations++;
}
// When it was built: the CLI runs from dist/ only while no source is newer (bin/tally.js).
writeFileSync(join(dist, '.built'), `${new Date().toISOString()}\n`);
console.log(`built dist/ (${declarations} declaration files)`);
