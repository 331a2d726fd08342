/** The README's library example, run as written (with the import pointed at the source). */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('the README example runs and prints what it says', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = /## The library in ten lines\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const logged: unknown[][] = [];
  const body = example!
    .replace("import { createTally, presets } from 'tally';", '')
    .replace("'./data/app.db'", "':memory:'")
    .replaceAll('console.log(', 'log(');
  const run = new Function('createTally', 'presets', 'log', `return (async () => {${body}})();`);
  const { createTally, presets } = await import('../src/index.ts');
  await run(createTally, presets, (...values: unknown[]) => logged.push(values));
  expect(logged).toEqual([['1.09', '2498.91']]);
});
