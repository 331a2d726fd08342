/**
 * The presets price what their seed documents say. Seed 004's table gives a range per
 * operation; the typical usages documented beside each operation in app-builder.yaml must land
 * inside it.
 */
import { describe, expect, it } from 'vitest';
import { parseDecimal } from '../src/domain/decimal.ts';
import { priceRun } from '../src/domain/pricing.ts';
import { loadConfig } from '../src/index.ts';
import { compilePriceBook } from '../src/schema/config.ts';

const bookOf = (file: string) =>
  compilePriceBook(loadConfig(new URL(file, import.meta.url).pathname).price_book_document);
const usage = (record: Record<string, number>) =>
  new Map(
    Object.entries(record).map(([key, value]) => [
      key,
      (parseDecimal(value, 6) as { ok: true; value: never }).value,
    ]),
  );

function credits(
  book: ReturnType<typeof bookOf>,
  operation: string,
  run: Record<string, number>,
  add_ons?: string[],
) {
  const priced = priceRun(book.operations.get(operation)!, { usage: usage(run), add_ons });
  if (!priced.ok) throw new Error(priced.detail);
  return Number(priced.micros / 1_000_000n);
}

describe('app builder (seed 004): the operation table', () => {
  const book = bookOf('./app-builder.yaml');

  // [operation, typical usage documented in the preset, the seed's range]
  const cases: [string, Record<string, number>, [number, number]][] = [
    ['editor.chat.fast', { input_tokens: 12_000, output_tokens: 1_500 }, [40, 400]],
    ['editor.chat.fast', { input_tokens: 80_000, output_tokens: 8_000 }, [40, 400]],
    ['editor.chat.expert', { input_tokens: 12_000, output_tokens: 1_500 }, [100, 1000]],
    ['editor.chat.expert', { input_tokens: 80_000, output_tokens: 8_000 }, [100, 1000]],
    ['ai.standard', { input_tokens: 500, output_tokens: 200 }, [2, 10]],
    ['ai.standard', { input_tokens: 2_000, output_tokens: 700 }, [2, 10]],
    ['ai.advanced', { input_tokens: 500, output_tokens: 200 }, [10, 40]],
    ['ai.advanced', { input_tokens: 2_000, output_tokens: 700 }, [10, 40]],
    ['web.extract', {}, [8, 8]],
    // "~50", "~150", "~200", "~500": within 10 %.
    ['image.standard', { images: 1, input_tokens: 1_000 }, [45, 55]],
    ['image.advanced', { images: 1, input_tokens: 1_000 }, [135, 165]],
    ['video.standard', { seconds: 5, input_tokens: 500 }, [180, 220]],
    ['video.advanced', { seconds: 5, input_tokens: 1_000 }, [450, 550]],
    ['tts.speak', { characters: 500 }, [10, 80]],
    ['tts.speak', { characters: 4_000 }, [10, 80]],
  ];

  it.each(cases)('%s with %o lands in %o credits', (operation, run, [low, high]) => {
    const cost = credits(book, operation, run);
    expect(cost).toBeGreaterThanOrEqual(low);
    expect(cost).toBeLessThanOrEqual(high);
  });

  it('adds 15 credits for web search, and clamps effort-based chat to its range', () => {
    const plain = credits(book, 'ai.standard', { input_tokens: 500, output_tokens: 200 });
    expect(credits(book, 'ai.standard', { input_tokens: 500, output_tokens: 200 }, ['web_search'])).toBe(
      plain + 15,
    );
    expect(credits(book, 'editor.chat.fast', { input_tokens: 10, output_tokens: 1 })).toBe(40);
    expect(credits(book, 'editor.chat.fast', { input_tokens: 1_000_000, output_tokens: 100_000 })).toBe(400);
  });

  it('values a credit at a tenth of a cent', () => {
    expect(book.credit_value).toEqual({ currency: 'USD', amount_minor_per_credit: { units: 1n, scale: 1 } });
  });
});

describe('prompt marketplace (seed 000): rates derived from the provider price at cost', () => {
  const book = bookOf('./prompt-marketplace.yaml');

  it('shows the derived rate: USD 2.50 per million tokens at 1 credit = 1 cent is 0.00025 credits per token', () => {
    const gpt_4o = book.operations.get('prompt.run')!.models.get('gpt-4o')!;
    expect(gpt_4o.rates.get('input_tokens')).toEqual({ units: 25n, scale: 5 });
    expect(gpt_4o.rates.get('output_tokens')).toEqual({ units: 1n, scale: 3 });
    expect(book.operations.get('prompt.run')!.creator_share).toEqual({
      basis: 'cost',
      rate: { units: 1n, scale: 1 },
    });
  });
});

describe('developer platform (seed 003)', () => {
  it('draws daily, then subscription, then bonus', () => {
    expect(loadConfig(new URL('./dev-platform.yaml', import.meta.url).pathname).kinds).toEqual([
      'daily',
      'subscription',
      'bonus',
      'purchased',
    ]);
    expect(bookOf('./dev-platform.yaml').operations.get('agent.message.premium')!.requires_entitlement).toBe(
      'premium_models',
    );
  });
});
