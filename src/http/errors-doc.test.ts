import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { errorsMarkdown } from './errors-doc.ts';

it('docs/errors.md lists exactly the closed set of codes (regenerate with npm run docs:errors)', () => {
  expect(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toBe(errorsMarkdown());
});
