/**
 * Token counts of raw input text, for estimates. Models the `gpt-tokenizer` package knows are
 * counted exactly with their encoding; for any other model the count is an estimate of one
 * token per 4 characters (Unicode code points), rounded up — the rule of thumb OpenAI documents
 * for English text. The answer says which method was used.
 */
import { modelToEncodingMap } from 'gpt-tokenizer/mapping';
import { TOKENIZER_PIECE_CHARACTERS_MAX, TOKENIZER_YIELD_CHARACTERS } from '../domain/limits.ts';

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

/**
 * Where to cut `text` after `start`: at most TOKENIZER_PIECE_CHARACTERS_MAX on, just before the
 * last space within that reach (the encodings' pre-tokenizer starts a word with its space, so a
 * cut there changes no count), else right there (a run with no space: a cut may change the count
 * by a token, which an estimate can bear), never inside a surrogate pair.
 */
export function pieceEnd(text: string, start: number): number {
  const reach = start + TOKENIZER_PIECE_CHARACTERS_MAX;
  if (reach >= text.length) return text.length;
  // Searched within the reach only: lastIndexOf on the whole text would scan back to its start.
  const space = text.slice(start, reach + 1).lastIndexOf(' ');
  if (space > 0) return start + space;
  const low_surrogate = (text.charCodeAt(reach) & 0xfc00) === 0xdc00;
  return low_surrogate ? reach - 1 : reach;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Counts in pieces, so the work is linear in the text's length: the tokenizer's merging is
 * quadratic in the length of a run without spaces (200k repeated characters took 18 s in one
 * piece). Every TOKENIZER_YIELD_CHARACTERS it lets the event loop run, so no single estimate
 * holds the server for longer than counting that many characters takes.
 */
export async function countTokens(text: string, model: string | undefined): Promise<TokenCount> {
  const method = encodingFor(model);
  if (method === 'characters_per_4') return { tokens: Math.ceil([...text].length / 4), method };
  const count = await counter(method);
  let tokens = 0;
  let since_yield = 0;
  for (let start = 0; start < text.length; ) {
    const end = pieceEnd(text, start);
    tokens += count(text.slice(start, end));
    since_yield += end - start;
    start = end;
    if (since_yield >= TOKENIZER_YIELD_CHARACTERS && start < text.length) {
      since_yield = 0;
      await nextTurn();
    }
  }
  return { tokens, method };
}
