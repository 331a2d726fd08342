import { countTokens as countWhole } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import {
  ESTIMATE_INPUT_TEXT_LENGTH_MAX,
  TOKENIZER_PIECE_CHARACTERS_MAX,
  TOKENIZER_YIELD_CHARACTERS,
} from '../domain/limits.ts';
import { countTokens, pieceEnd } from './tokens.ts';

describe('token counts of raw input text', () => {
  it('counts text in pieces exactly as the whole text counts, cutting before spaces', async () => {
    const prose = 'Write a haiku about double-entry bookkeeping,  twice.\n\tThen explain it. '.repeat(500);
    expect(prose.length).toBeGreaterThan(10 * TOKENIZER_PIECE_CHARACTERS_MAX);
    expect(await countTokens(prose, 'gpt-4o')).toEqual({ tokens: countWhole(prose), method: 'o200k_base' });
  });

  it('never hands the tokenizer more than the piece limit, nor cuts a surrogate pair', () => {
    const texts = ['a'.repeat(5_000), '😀'.repeat(3_000), `${'b'.repeat(1_500)} ${'c'.repeat(2_000)}`];
    for (const text of texts) {
      const pieces: string[] = [];
      for (let start = 0; start < text.length; ) {
        const end = pieceEnd(text, start);
        expect(end).toBeGreaterThan(start);
        pieces.push(text.slice(start, end));
        start = end;
      }
      expect(pieces.join('')).toBe(text);
      expect(Math.max(...pieces.map((piece) => piece.length))).toBeLessThanOrEqual(
        TOKENIZER_PIECE_CHARACTERS_MAX,
      );
      // No piece starts with the low half of a pair: each is well-formed UTF-16 on its own.
      const low_half_first = (piece: string) => (piece.charCodeAt(0) & 0xfc00) === 0xdc00;
      expect(pieces.filter(low_half_first)).toEqual([]);
    }
  });

  it('gives the event loop its turns while counting a maximal run without spaces', async () => {
    // The input that took 18 s in one piece and held every other request: a long single-character run.
    const text = 'a'.repeat(ESTIMATE_INPUT_TEXT_LENGTH_MAX / 4);
    // Another piece of work that wants a turn of the event loop each time it gets one.
    let turns = 0;
    let counting = true;
    const other = () => {
      turns++;
      if (counting) setImmediate(other);
    };
    setImmediate(other);
    const counted = await countTokens(text, 'gpt-4o');
    counting = false;
    expect(counted.tokens).toBeGreaterThan(0);
    // Other work ran between the pieces: at least once per TOKENIZER_YIELD_CHARACTERS counted.
    expect(turns).toBeGreaterThanOrEqual(Math.floor(text.length / TOKENIZER_YIELD_CHARACTERS) - 1);
  });
});
