/**
 * docs/configuration.md, generated from the schema that validates tally.config.yaml: every key
 * with its type, its default, what it does (the schema's descriptions) and an example taken from
 * the presets Tally ships. A test checks the file is current, so the reference cannot drift.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { tallyConfigSchema } from './config.ts';

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
  example: string;
}

/** The zod 4 definition of a schema, as far as this walk reads it. */
interface Definition {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  element?: z.ZodType;
  valueType?: z.ZodType;
  entries?: Record<string, string>;
  values?: unknown[];
  format?: string;
  checks?: { _zod: { def: { format?: string } } }[];
}

const definition = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Definition } })._zod.def;

/** Through optional, default and transform wrappers to what is written: its default and description on the way. */
function unwrap(schema: z.ZodType): {
  inner: z.ZodType;
  default?: unknown;
  description?: string;
  optional: boolean;
} {
  let inner = schema;
  let found: { default?: unknown; description?: string; optional: boolean } = { optional: false };
  for (;;) {
    found = { ...found, description: found.description ?? inner.description };
    const def = definition(inner);
    if (def.type === 'optional') found.optional = true;
    if (def.type === 'default' && !('default' in found)) found.default = def.defaultValue;
    if (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'nullable' ||
      def.type === 'readonly'
    )
      inner = def.innerType!;
    else if (def.type === 'pipe') inner = def.in!;
    else return { inner, ...found };
  }
}

function typeOf(schema: z.ZodType): string {
  const { inner } = unwrap(schema);
  const def = definition(inner);
  switch (def.type) {
    case 'string':
      return def.format === 'datetime' ? 'time (RFC 3339)' : 'string';
    case 'number':
      return def.checks?.some((check) => check._zod.def.format === 'safeint') || def.format === 'safeint'
        ? 'integer'
        : 'number';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(def.entries ?? {})
        .map((value) => `\`${value}\``)
        .join(' \\| ');
    case 'literal':
      return (def.values ?? []).map((value) => `\`${String(value)}\``).join(' \\| ');
    case 'union': {
      const types = [...new Set((def.options ?? []).map(typeOf))];
      // Amounts and rates are written as decimal strings or numbers.
      return types.length === 2 && types.includes('string') && types.includes('number')
        ? 'decimal'
        : types.join(' or ');
    }
    case 'array':
      return `list of ${typeOf(def.element!)}`;
    case 'record':
      return `map of id → ${typeOf(def.valueType!)}`;
    case 'object':
      return 'object';
    default:
      return def.type;
  }
}

/** The objects whose keys are documented under a schema: itself, a map's or list's values, a union's members. */
function objectsUnder(schema: z.ZodType, path: string): { path: string; shape: Record<string, z.ZodType> }[] {
  const def = definition(unwrap(schema).inner);
  if (def.type === 'object') return [{ path, shape: def.shape! }];
  if (def.type === 'record') return objectsUnder(def.valueType!, `${path}.<id>`);
  if (def.type === 'array') return objectsUnder(def.element!, `${path}[]`);
  if (def.type === 'union') return (def.options ?? []).flatMap((option) => objectsUnder(option, path));
  return [];
}

/** The first value the presets give at a path (`<id>`: any entry of a map, `[]`: any item of a list). */
function exampleAt(documents: readonly unknown[], path: string): unknown {
  const steps = path.match(/<id>|\[\]|[^.[\]<>]+/g) ?? [];
  const at = (value: unknown, index: number): unknown => {
    if (index === steps.length) return value;
    if (value === null || typeof value !== 'object') return undefined;
    const step = steps[index]!;
    const candidates =
      step === '<id>' || step === '[]' ? Object.values(value) : [(value as Record<string, unknown>)[step]];
    for (const candidate of candidates) {
      const found = at(candidate, index + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const document of documents) {
    const found = at(document, 0);
    if (found !== undefined) return found;
  }
  return undefined;
}

const inline = (value: unknown): string => {
  const text = JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? String(item) : item,
  );
  return text.length > 70 ? `${text.slice(0, 67)}…` : text;
};
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function rowsOf(
  shape: Record<string, z.ZodType>,
  prefix: string,
  documents: readonly unknown[],
  rows: Row[],
): void {
  for (const [key, schema] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const found = unwrap(schema);
    const example = exampleAt(documents, path);
    rows.push({
      path,
      type: typeOf(schema),
      default: 'default' in found ? `\`${cell(inline(found.default))}\`` : found.optional ? '—' : 'required',
      description: found.description ?? '',
      example: example === undefined ? '' : `\`${cell(inline(example))}\``,
    });
    for (const object of objectsUnder(schema, path))
      if (object.shape !== shape) rowsOf(object.shape, object.path, documents, rows);
  }
}

/** The presets the examples come from, as documents. */
export const PRESET_FILES = ['prompt-marketplace', 'app-builder', 'dev-platform'].map(
  (name) => new URL(`../../examples/${name}.yaml`, import.meta.url),
);

export function configurationMarkdown(): string {
  const documents = PRESET_FILES.map((file) => parseYaml(readFileSync(file, 'utf8')) as unknown);
  const rows: Row[] = [];
  rowsOf(definition(tallyConfigSchema).shape!, '', documents, rows);
  const sections = new Map<string, Row[]>();
  for (const row of rows) {
    const section = row.path.split(/[.[]/)[0]!;
    sections.set(section, [...(sections.get(section) ?? []), row]);
  }
  const lines = [
    '# Configuration reference: `tally.config.yaml`',
    '',
    'Generated from the schema that validates the file (`src/schema/config.ts`) by',
    '`npm run docs:config`; a test fails when it is not current. Examples come from the presets in',
    '`examples/`. `<id>` stands for any key of a map, `[]` for any item of a list. Amounts of',
    'credits and rates are decimals: strings such as `"12.5"` (or numbers), exact to their last digit.',
    '',
    'Tally reads the configuration named by `--config` (a file, or a preset: `prompt-marketplace`,',
    '`app-builder`, `dev-platform`), else `TALLY_CONFIG`, else `./tally.config.yaml`, else the one the',
    'database was last opened with.',
  ];
  for (const [section, section_rows] of sections) {
    lines.push(
      '',
      `## \`${section}\``,
      '',
      '| key | type | default | example | what it does |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const row of section_rows)
      lines.push(
        `| \`${row.path}\` | ${row.type} | ${row.default} | ${row.example} | ${cell(row.description)} |`,
      );
  }
  return `${lines.join('\n')}\n`;
}
