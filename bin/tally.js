#!/usr/bin/env node
// The `tally` command. Tally runs from its TypeScript sources through tsx, so there is no
// build step between `npm install` and `npx tally`.
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`tally prices | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
