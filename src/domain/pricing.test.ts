import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePriceBook, priceBookDocument } from '../schema/config.ts';
import { parseDecimal } from './decimal.ts';
import { costForOutcome, priceRun } from './pricing.ts';

const DEFAULTS = {
  version: 1,
  effective_at: '2026-01-01T00:00:00Z',
  credit_value: { currency: 'USD', amount_minor_per_credit: '1' },
};
const book = compilePriceBook(
  priceBookDocument(
    {
      operations: {
        'ai.standard': {
          rates: { input_tokens: '0.000015', output_tokens: '0.00006' },
          models: { large: { rates: { output_tokens: '0.0003' }, flat_credits: '1' } },
          add_ons: { web_search: '15' },
          rounding: { mode: 'up', step_credits: '1' },
          failed_run: { policy: 'fixed', credits: '2' },
        },
        'tts.speak': { rates: { characters: '0.0000001' } },
        'web.extract': { flat_credits: '8', min_credits: '8', max_credits: '8' },
        'video.generate': { rates: { seconds: '20' }, min_credits: '40', max_credits: '600' },
      },
    },
    DEFAULTS,
  ),
);
const operation = (id: string) => book.operations.get(id)!;
const usage = (record: Record<string, string | number>) =>
  new Map(
    Object.entries(record).map(([key, value]) => [
      key,
      (parseDecimal(value, 6) as { ok: true; value: never }).value,
    ]),
  );

describe('pricing', () => {
  it('sums exact per-dimension costs and rounds once per charge', () => {
    // 1000 × 0.000015 + 500 × 0.00006 = 0.015 + 0.03 = 0.045 credits → up to 1 credit.
    const priced = priceRun(operation('ai.standard'), {
      usage: usage({ input_tokens: 1000, output_tokens: 500 }),
    });
    expect(priced.ok && priced.micros).toBe(1_000_000n);
    expect(priced.ok && priced.lines.map((line) => line.credits)).toEqual(['0.015', '0.03']);
  });

  it('rounds the sum once, not each term', () => {
    // 26,666 × 0.000015 = 0.39999 and 6,666 × 0.00006 = 0.39996: together 0.79995 → 1 credit.
    // Rounding each term up first would have charged 2.
    const priced = priceRun(operation('ai.standard'), {
      usage: usage({ input_tokens: 26_666, output_tokens: 6_666 }),
    });
    expect(priced.ok && priced.micros).toBe(1_000_000n);
  });

  it('keeps sub-micro rates exact: 25 characters at 0.0000001 credits is 2.5 micro-credits → 3 (nearest)', () => {
    const priced = priceRun(operation('tts.speak'), { usage: usage({ characters: 25 }) });
    expect(priced.ok && priced.micros).toBe(3n);
    const ten = priceRun(operation('tts.speak'), { usage: usage({ characters: 10 }) });
    expect(ten.ok && ten.micros).toBe(1n);
  });

  it('uses a model rate where given, the operation rate elsewhere, plus flat fees and add-ons', () => {
    // flat 1 + 1000 × 0.000015 + 1000 × 0.0003 + web search 15 = 16.315 → 17.
    const priced = priceRun(operation('ai.standard'), {
      model: 'large',
      usage: usage({ input_tokens: 1000, output_tokens: 1000 }),
      add_ons: ['web_search'],
    });
    expect(priced.ok && priced.micros).toBe(17_000_000n);
  });

  it('clamps to the minimum and maximum per charge', () => {
    const short = priceRun(operation('video.generate'), { usage: usage({ seconds: '1.5' }) });
    expect(short.ok && short.micros).toBe(40_000_000n);
    const long = priceRun(operation('video.generate'), { usage: usage({ seconds: 100 }) });
    expect(long.ok && long.micros).toBe(600_000_000n);
    const flat = priceRun(operation('web.extract'), { usage: usage({}) });
    expect(flat.ok && flat.micros).toBe(8_000_000n);
  });

  it('refuses unknown models, dimensions and add-ons', () => {
    expect(priceRun(operation('ai.standard'), { model: 'nope', usage: usage({}) })).toMatchObject({
      ok: false,
      code: 'model_not_found',
    });
    // The refusal lists the dimensions it is priced in, so a caller can map its usage to them.
    expect(priceRun(operation('ai.standard'), { usage: usage({ prompt_tokens: 1 }) })).toMatchObject({
      ok: false,
      code: 'usage_dimension_unknown',
      detail: 'ai.standard is not priced in prompt_tokens; it is priced in input_tokens, output_tokens',
    });
    expect(priceRun(operation('ai.standard'), { usage: usage({}), add_ons: ['turbo'] })).toMatchObject({
      ok: false,
      code: 'add_on_unknown',
    });
  });

  it('charges failed runs by the operation policy, never more than the full price', () => {
    const op = operation('ai.standard');
    expect(costForOutcome(op, 10_000_000n, 'failed')).toBe(2_000_000n);
    expect(costForOutcome(op, 1_000_000n, 'failed')).toBe(1_000_000n);
    expect(costForOutcome(op, 10_000_000n, 'rejected')).toBe(10_000_000n);
    expect(costForOutcome(operation('tts.speak'), 10_000_000n, 'failed')).toBe(0n);
  });
});

describe('pricing exactness', () => {
  // An independent reference: each term as a fraction over its own power of ten, summed over
  // the least common denominator, then rounded up to a micro-credit — BigInt all the way.
  function reference(terms: { quantity: [bigint, number]; rate: [bigint, number] }[]): bigint {
    const denominator = 10n ** 30n;
    let numerator = 0n;
    for (const { quantity, rate } of terms) {
      numerator += (quantity[0] * rate[0] * denominator) / 10n ** BigInt(quantity[1] + rate[1]);
    }
    const micros_numerator = numerator * 1_000_000n;
    return (micros_numerator + denominator - 1n) / denominator;
  }

  it('equals a BigInt reference for random large usages and rates (no float anywhere)', () => {
    const decimalText = (units: bigint, scale: number) => {
      const digits = units.toString().padStart(scale + 1, '0');
      return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            quantity: fc.tuple(
              fc.bigInt({ min: 0n, max: 1_000_000_000_000n }),
              fc.integer({ min: 0, max: 6 }),
            ),
            rate: fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 12 })),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (terms) => {
          const rates = Object.fromEntries(
            terms.map((term, index) => [`d${index}`, decimalText(term.rate[0], term.rate[1])]),
          );
          const operations = { op: { rates, rounding: { mode: 'up', step_credits: '0.000001' } } };
          const book = compilePriceBook(priceBookDocument({ operations }, DEFAULTS));
          const run = new Map(
            terms.map(
              (term, index) => [`d${index}`, { units: term.quantity[0], scale: term.quantity[1] }] as const,
            ),
          );
          const priced = priceRun(book.operations.get('op')!, { usage: run });
          expect(priced.ok && priced.micros).toBe(reference(terms));
        },
      ),
      { numRuns: 300 },
    );
  });
});
