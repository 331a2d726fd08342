/**
 * Token counts of raw input text, for estimates. Models the `gpt-tokenizer` package knows are
 * counted exactly with their encoding; for any other model the count is an estimate of one
 * token per 4 characters (Unicode code points), rounded up — the rule of thumb OpenAI documents
 * for English text. The answer says which method was used.
 */
import { modelToEncodingMap } from 'gpt-tokenizer/mapping';

export type TokenCountMethod = 'o200k_base' | 'cl100k_base' | 'characters_per_4';

export interface TokenCount {
  tokens: number;
  method: TokenCountMethod;
}

/** Families released after the package's map was written, all on o200k_base. */
const O200K_PREFIXES = ['gpt-4o', 'gpt-4.1', 'gpt-4.5', 'gpt-5', 'chatgpt-4o', 'o1', 'o3', 'o4'];

export function encodingFor(model: string | undefined): TokenCountMethod {
  if (model === undefined) return 'characters_per_4';
  if (O200K_PREFIXES.some((prefix) => model === prefix || model.startsWith(`${prefix}-`)))
    return 'o200k_base';
  const mapped = (modelToEncodingMap as Record<string, string>)[model];
  if (mapped === 'o200k_base' || mapped === 'cl100k_base') return mapped;
  return 'characters_per_4';
}

type Counter = (text: string) => number;
const counters = new Map<TokenCountMethod, Promise<Counter>>();

/** Encodings are large; each is loaded the first time a model needs it. */
function counter(method: Exclude<TokenCountMethod, 'characters_per_4'>): Promise<Counter> {
  let loaded = counters.get(method);
  if (!loaded) {
    loaded =
      method === 'o200k_base'
        ? import('gpt-tokenizer/encoding/o200k_base').then((encoding) => encoding.countTokens as Counter)
        : import('gpt-tokenizer/encoding/cl100k_base').then((encoding) => encoding.countTokens as Counter);
    counters.set(method, loaded);
  }
  return loaded;
}

export async function countTokens(text: string, model: string | undefined): Promise<TokenCount> {
  const method = encodingFor(model);
  if (method === 'characters_per_4') return { tokens: Math.ceil([...text].length / 4), method };
  return { tokens: (await counter(method))(text), method };
}
