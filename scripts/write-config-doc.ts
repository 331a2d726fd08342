import { writeFileSync } from 'node:fs';
import { configurationMarkdown } from '../src/schema/config-doc.ts';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationMarkdown());
