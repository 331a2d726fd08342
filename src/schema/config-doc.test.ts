import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { configurationMarkdown } from './config-doc.ts';

it('docs/configuration.md is the reference the schema gives (regenerate with npm run docs:config)', () => {
  const reference = configurationMarkdown();
  expect(readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')).toBe(reference);
  // Every key is there, with what it does: a key added to the schema without a description fails here.
  for (const key of [
    'kinds',
    'credit_value.amount_minor_per_credit',
    'plans.<id>.allowances[].rollover',
    'price_book.operations.<id>.models.<id>.rates',
  ])
    expect(reference).toContain(`| \`${key}\` |`);
  const undescribed = reference.split('\n').filter((line) => line.startsWith('| `') && line.endsWith('|  |'));
  expect(undescribed).toEqual([]);
});
