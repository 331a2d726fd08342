import { beforeEach, describe, expect, it } from 'vitest';
import { ledgerSnapshot, openTestTally, refusal } from '../../test/helpers.ts';
import type { TallyConfigInput } from '../schema/config.ts';
import type { TestClock } from './clock.ts';
import type { Tally } from './tally.ts';

const CONFIG: TallyConfigInput = {
  price_book: {
    version: 1,
    effective_at: '2026-01-01T00:00:00Z',
    operations: {
      'chat.fast': {
        models: {
          'gpt-4o': { rates: { input_tokens: '0.00025', output_tokens: '0.001' } },
          'house-model': { rates: { input_tokens: '0.0001', output_tokens: '0.0004' } },
        },
        rounding: { mode: 'up', step_credits: '0.01' },
        example_usage: { input_tokens: 1000, output_tokens: 500 },
      },
      'image.standard': { rates: { images: '50' }, example_usage: { images: 1 } },
      'web.extract': { flat_credits: '8' },
    },
  },
};

let tally: Tally;
let clock: TestClock;

beforeEach(async () => {
  ({ tally, clock } = await openTestTally({ config: CONFIG }));
  await tally.putAccount({ id: 'ana', kind: 'user' });
  await tally.issueGrant({ account: 'ana', kind: 'free', amount: '100' });
});

describe('estimates', () => {
  it('agrees with the charge: estimate → reserve → settle with the same usage costs the expected credits', async () => {
    const usage = { input_tokens: 12_345, output_tokens: 2_345 };
    const estimate = await tally.estimate({ account: 'ana', operation: 'chat.fast', model: 'gpt-4o', usage });
    // 12,345 × 0.00025 + 2,345 × 0.001 = 3.08625 + 2.345 = 5.43125 → 5.44 (up to a hundredth).
    expect(estimate).toMatchObject({
      credits_min: '5.44',
      credits_expected: '5.44',
      credits_max: '5.44',
      usage_basis: 'given',
    });
    expect(estimate.money.expected).toEqual({ currency: 'USD', amount_minor: 5, amount: '0.0544' });
    const reservation = await tally.reserve({
      account: 'ana',
      operation: 'chat.fast',
      model: 'gpt-4o',
      usage,
    });
    expect(reservation.amount).toBe(estimate.credits_max);
    const charge = await tally.settle({ reservation: reservation.id, usage });
    expect(charge.credits).toBe(estimate.credits_expected);
    expect(charge.money).toEqual(estimate.money.expected);
    expect(reservation.money).toEqual(estimate.money.max);
    expect((await tally.getCharge(charge.id)).money).toEqual({
      currency: 'USD',
      amount_minor: 5,
      amount: '0.0544',
    });
  });

  it('counts the tokens of raw input text with the model tokenizer, and prices a range up to max_output_tokens', async () => {
    const input_text = 'Write a haiku about double-entry bookkeeping. '.repeat(40);
    const estimate = await tally.estimate({
      account: 'ana',
      operation: 'chat.fast',
      model: 'gpt-4o',
      input_text,
      max_output_tokens: 4000,
    });
    expect(estimate.input_tokens?.method).toBe('o200k_base');
    const tokens = estimate.input_tokens!.tokens;
    expect(tokens).toBeGreaterThan(300);
    expect(tokens).toBeLessThan(input_text.length / 2);
    const at = (output: number) => Math.ceil((tokens * 0.00025 + output * 0.001) * 100) / 100;
    expect(Number(estimate.credits_min)).toBeCloseTo(at(0), 10);
    // No history yet: the expected output is the operation's example output.
    expect(Number(estimate.credits_expected)).toBeCloseTo(at(500), 10);
    expect(Number(estimate.credits_max)).toBeCloseTo(at(4000), 10);
    expect(estimate.usage_expected).toEqual({ input_tokens: String(tokens), output_tokens: '500' });
  });

  it('estimates a model the tokenizer does not know at one token per 4 characters', async () => {
    const estimate = await tally.estimate({
      account: 'ana',
      operation: 'chat.fast',
      model: 'house-model',
      input_text: 'x'.repeat(401),
      max_output_tokens: 100,
    });
    expect(estimate.input_tokens).toEqual({ tokens: 101, method: 'characters_per_4' });
    expect(estimate.usage_expected.output_tokens).toBe('100');
  });

  it('says what blocks a run and how many runs the balance covers', async () => {
    const image = await tally.estimate({ account: 'ana', operation: 'image.standard' });
    expect(image).toMatchObject({
      credits_expected: '50',
      usage_basis: 'example',
      affordable: true,
      balance_after: '50',
      runs_affordable: 2,
      blocked_by: [],
    });
    await tally.issueGrant({ account: 'ana', kind: 'promo', amount: '500', allowed_operations: ['chat.*'] });
    const big = await tally.estimate({ account: 'ana', operation: 'image.standard', usage: { images: 3 } });
    expect(big).toMatchObject({
      affordable: false,
      balance_after: null,
      runs_affordable: 0,
      available: '100',
    });
    expect(big.blocked_by).toEqual([
      { kind: 'insufficient_credits', needed: '150', available: '100' },
      expect.objectContaining({ kind: 'restriction', grant_kind: 'promo', amount: '500' }),
    ]);
  });

  it('changes nothing, and refuses bad input with a closed-set code', async () => {
    const before = await ledgerSnapshot(tally);
    await tally.estimate({ account: 'ana', operation: 'web.extract' });
    const cases: [unknown, string][] = [
      [{ account: 'ana', operation: 'nope' }, 'operation_not_found'],
      [
        { account: 'ana', operation: 'chat.fast', model: 'gpt-9', usage: { input_tokens: 1 } },
        'model_not_found',
      ],
      [{ account: 'ana', operation: 'image.standard', usage: { images: -1 } }, 'invalid_request'],
      [{ account: 'ana', operation: 'image.standard', usage: { images: 'many' } }, 'invalid_request'],
      [{ account: 'ana', operation: 'image.standard', usage: { pixels: 3 } }, 'usage_dimension_unknown'],
      [{ account: 'nobody', operation: 'web.extract' }, 'account_not_found'],
    ];
    for (const [input, code] of cases) {
      expect((await refusal(tally.estimate(input as never))).code).toBe(code);
    }
    expect(await ledgerSnapshot(tally)).toEqual(before);
  });
});

describe('remaining runs and runway', () => {
  it('uses the operation example before any history, the account median after', async () => {
    let remaining = await tally.remaining('ana');
    expect(remaining.operations.find((operation) => operation.id === 'image.standard')).toMatchObject({
      runs_affordable: 2,
      typical_cost: '50',
      usage_basis: 'example',
    });
    expect(remaining.runway_days).toBeNull();

    for (const output_tokens of [1_000, 3_000, 9_000]) {
      await tally.charge({
        account: 'ana',
        operation: 'chat.fast',
        model: 'gpt-4o',
        usage: { input_tokens: 2_000, output_tokens },
      });
    }
    remaining = await tally.remaining('ana');
    const chat = remaining.operations.find((operation) => operation.id === 'chat.fast')!;
    // Median run: 2,000 in / 3,000 out on gpt-4o = 0.5 + 3 = 3.5 credits; 100 − (1.5 + 3.5 + 9.5) = 85.5 left → 24 runs.
    expect(chat).toMatchObject({ usage_basis: 'history', typical_cost: '3.5', runs_affordable: 24 });
    // 14.5 credits spent within 7 days: 2.071428 a day; 85.5 ÷ that = 41.2 days.
    expect(remaining.burn_per_day).toBe('2.071428');
    expect(remaining.runway_days).toBe('41.2');
    clock.advanceSeconds(8 * 86_400);
    expect((await tally.remaining('ana')).runway_days).toBeNull();
  });
});

describe('price book versions', () => {
  it('keeps a reservation at the version it was made under when a new one is published before it settles', async () => {
    const usage = { input_tokens: 10_000, output_tokens: 1_000 };
    const reservation = await tally.reserve({
      account: 'ana',
      operation: 'chat.fast',
      model: 'gpt-4o',
      usage,
    });
    expect(reservation).toMatchObject({ price_version: 1, amount: '3.5' });
    const before = await tally.priceTable(1);
    const published = await tally.publishPriceBook({
      operations: {
        'chat.fast': {
          models: { 'gpt-4o': { rates: { input_tokens: '0.0005', output_tokens: '0.002' } } },
          rounding: { mode: 'up', step_credits: '0.01' },
        },
      },
    });
    expect(published.version).toBe(2);
    const charge = await tally.settle({ reservation: reservation.id, usage });
    expect(charge).toMatchObject({ credits: '3.5', price_version: 1 });
    const next = await tally.charge({ account: 'ana', operation: 'chat.fast', model: 'gpt-4o', usage });
    expect(next).toMatchObject({ credits: '7', price_version: 2 });
    expect(await tally.priceTable(1)).toEqual(before);
    expect((await tally.priceTable()).version).toBe(2);
  });

  it('applies a version from its effective time, and never rewrites or back-dates one', async () => {
    await tally.publishPriceBook({
      effective_at: '2026-03-02T00:00:00Z',
      operations: { 'web.extract': { flat_credits: '9' } },
    });
    expect((await tally.priceTable()).version).toBe(1);
    expect((await tally.estimate({ account: 'ana', operation: 'web.extract' })).credits_expected).toBe('8');
    clock.set('2026-03-02T00:00:00Z');
    expect((await tally.estimate({ account: 'ana', operation: 'web.extract' })).credits_expected).toBe('9');
    expect((await refusal(tally.publishPriceBook({ version: 2, operations: {} }))).code).toBe(
      'price_version_exists',
    );
    expect(
      (await refusal(tally.publishPriceBook({ effective_at: '2026-01-01T00:00:00Z', operations: {} }))).code,
    ).toBe('price_book_invalid');
    expect((await refusal(tally.publishPriceBook({ operations: { x: { rates: { t: '-1' } } } }))).code).toBe(
      'price_book_invalid',
    );
  });

  it('lists every operation with its rates and an example cost in credits and money', async () => {
    const table = await tally.priceTable();
    expect(table.credit_value).toEqual({
      currency: 'USD',
      amount_minor_per_credit: '1',
      amount_per_credit: '0.01',
    });
    const chat = table.operations.find((operation) => operation.id === 'chat.fast')!;
    expect(chat.models.map((model) => model.id)).toEqual(['gpt-4o', 'house-model']);
    // The example (1,000 in / 500 out) on the first model: 0.25 + 0.5 = 0.75 credits = 0.75 cents.
    expect(chat.example_cost).toEqual({
      credits: '0.75',
      money: { currency: 'USD', amount_minor: 1, amount: '0.0075' },
      model: 'gpt-4o',
    });
  });
});

describe('entitlements in estimates and "about N more"', () => {
  const PREMIUM = {
    plans: {
      pro: {
        price: { currency: 'USD', amount_minor: 1900 },
        rank: 1,
        entitlements: ['premium_models'],
      },
    },
    price_book: {
      operations: {
        'chat.fast': {
          models: {
            'house-model': { rates: { output_tokens: '0.001' } },
            // One model of an everyday operation needs the entitlement; the others do not.
            'gpt-5': { rates: { output_tokens: '0.01' }, requires_entitlement: 'premium_models' },
          },
          example_usage: { output_tokens: 1000 },
        },
        'chat.premium': {
          rates: { output_tokens: '0.01' },
          requires_entitlement: 'premium_models',
          example_usage: { output_tokens: 1000 },
        },
      },
    },
  };

  it('counts no runs of what the account is not entitled to, and offers an upgrade instead of a top-up', async () => {
    const { tally: engine } = await openTestTally({ config: PREMIUM });
    await engine.putAccount({ id: 'ben', kind: 'user' });
    await engine.issueGrant({ account: 'ben', kind: 'purchased', amount: '100' });

    const premium = await engine.estimate({ account: 'ben', operation: 'chat.premium' });
    expect(premium).toMatchObject({ affordable: false, runs_affordable: 0, options: ['upgrade'] });
    expect(premium.blocked_by[0]).toMatchObject({
      kind: 'entitlement',
      entitlement: 'premium_models',
      plans: ['pro'],
    });
    const premium_model = await engine.estimate({ account: 'ben', operation: 'chat.fast', model: 'gpt-5' });
    expect(premium_model).toMatchObject({ affordable: false, runs_affordable: 0, options: ['upgrade'] });
    expect(
      await engine.estimate({ account: 'ben', operation: 'chat.fast', model: 'house-model' }),
    ).toMatchObject({
      affordable: true,
      runs_affordable: 100,
    });
    const remaining = await engine.remaining('ben');
    expect(remaining.operations.find((operation) => operation.id === 'chat.premium')).toMatchObject({
      runs_affordable: 0,
      entitlement_required: 'premium_models',
      options: ['upgrade'],
    });

    // Reserving agrees with the estimate: the model alone is refused, the operation's other models run.
    const refused = await refusal(
      engine.reserve({ account: 'ben', operation: 'chat.fast', model: 'gpt-5', max_credits: '1' }),
    );
    expect([refused.code, refused.extensions.entitlement]).toEqual([
      'entitlement_required',
      'premium_models',
    ]);
    await engine.reserve({ account: 'ben', operation: 'chat.fast', model: 'house-model', max_credits: '1' });

    // The price table says which model needs what.
    const table = await engine.priceTable();
    const chat = table.operations.find((operation) => operation.id === 'chat.fast')!;
    expect(chat.models.map((model) => [model.id, model.requires_entitlement])).toEqual([
      ['gpt-5', 'premium_models'],
      ['house-model', null],
    ]);

    await engine.subscribe({ account: 'ben', plan: 'pro' });
    expect(await engine.estimate({ account: 'ben', operation: 'chat.fast', model: 'gpt-5' })).toMatchObject({
      affordable: true,
      runs_affordable: 9,
    });
  });
});
