import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { TallyClient } from './client.ts';

it('docs/sdk.md documents every method of TallyClient', () => {
  const reference = readFileSync(new URL('../../docs/sdk.md', import.meta.url), 'utf8');
  const client = new TallyClient({ url: 'http://127.0.0.1:1' });
  const methods = Object.entries(client)
    .filter(([name, value]) => typeof value === 'function' && name !== 'fetcher')
    .map(([name]) => name)
    .concat(['as']);
  expect(methods.length).toBeGreaterThan(40);
  const undocumented = methods.filter((name) => !reference.includes(`| \`${name}(`));
  expect(undocumented).toEqual([]);
});
