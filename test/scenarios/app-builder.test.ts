/**
 * Seed 004, the app builder ("AI credits guide"), on examples/app-builder.yaml.
 */
import { describe, expect, it } from 'vitest';
import { openTestTally, refusal } from '../helpers.ts';

const PRESET = new URL('../../examples/app-builder.yaml', import.meta.url).pathname;

describe('app builder (seed 004)', () => {
  it('"AI credits reset monthly based on your subscription plan"; "the Super plan includes 10x more"', async () => {
    const { tally, clock } = await openTestTally({ config: PRESET, start: '2027-02-03T08:00:00Z' });
    await tally.putAccount({ id: 'maker', kind: 'user' });
    await tally.subscribe({ account: 'maker', plan: 'free' });
    expect((await tally.getBalance('maker')).available).toBe('1000');
    await tally.charge({
      account: 'maker',
      operation: 'editor.chat.fast',
      usage: { input_tokens: 12_000, output_tokens: 1_500 },
    }); // 59
    clock.set('2027-03-03T08:00:00Z');
    expect((await tally.getBalance('maker')).available).toBe('1000'); // reset, not 1,941
    await tally.subscribe({ account: 'maker', plan: 'super' });
    clock.set('2027-04-03T08:00:00Z');
    expect((await tally.getBalance('maker')).available).toBe('10000');
  });

  it('"Your apps remain fully functional even when AI credits run low. Only AI features are affected."', async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await tally.putAccount({ id: 'maker', kind: 'user' });
    await tally.subscribe({ account: 'maker', plan: 'free' });
    await tally.charge({
      account: 'maker',
      operation: 'video.advanced',
      usage: { seconds: 10, input_tokens: 400 },
    }); // 982
    const refused = await refusal(
      tally.charge({
        account: 'maker',
        operation: 'image.standard',
        usage: { images: 1, input_tokens: 1000 },
      }),
    );
    expect(refused.code).toBe('insufficient_credits');
    expect(refused.extensions).toMatchObject({
      needed: '50',
      available: '18',
      options: ['top_up', 'upgrade'],
    });
    // A cheaper AI feature still fits.
    expect((await tally.charge({ account: 'maker', operation: 'web.extract', usage: {} })).credits).toBe('8');
  });

  it('"When others use apps you have shared: their AI interactions consume their own AI credits"', async () => {
    const { tally } = await openTestTally({ config: PRESET });
    for (const id of ['creator', 'visitor']) {
      await tally.putAccount({ id, kind: 'user' });
      await tally.subscribe({ account: id, plan: 'free' });
    }
    const run = await tally.charge({
      account: 'visitor',
      operation: 'ai.standard',
      usage: { input_tokens: 500, output_tokens: 200 },
      add_ons: ['web_search'],
      metadata: { app: 'recipe-finder', author: 'creator' },
    });
    // 3 + 15 for web search = 18, and the creator's reward of 5 % on top: 18.9, rounded up once to 19.
    expect(run.credits).toBe('19');
    expect((await tally.getBalance('visitor')).available).toBe('981');
    // The reward is the premium of what the visitor paid, rounded down: 19 × 0.05 ÷ 1.05.
    expect(run.creator).toEqual({ account: 'creator', amount: '0.904761', reversed: '0', basis: 'premium' });
    // It is earnings, not credits: the creator's own AI credits are theirs to use, untouched.
    expect((await tally.getBalance('creator')).available).toBe('1000');
    // The creator running their own app pays the compute cost only.
    const own = await tally.charge({
      account: 'creator',
      operation: 'ai.standard',
      usage: { input_tokens: 500, output_tokens: 200 },
      add_ons: ['web_search'],
      metadata: { app: 'recipe-finder', author: 'creator' },
    });
    expect([own.credits, own.creator]).toEqual(['18', null]);

    // Before the run, the estimate shows the visitor both parts; the price table shows them for the example run.
    const estimate = await tally.estimate({
      account: 'visitor',
      operation: 'ai.standard',
      usage: { input_tokens: 500, output_tokens: 200 },
      add_ons: ['web_search'],
      metadata: { author: 'creator' },
    });
    expect([estimate.credits_expected, estimate.creator]).toEqual([
      '19',
      { account: 'creator', basis: 'premium', amount: '0.904761', ai_cost: '18.095239' },
    ]);
    const table = await tally.priceTable();
    const standard = table.operations.find((operation) => operation.id === 'ai.standard')!;
    // 800 in, 300 out = 4 credits for the creator's own run; 4.2 with the reward, rounded up once to 5.
    expect([standard.example_cost!.credits, standard.creator_share]).toEqual([
      '4',
      { basis: 'premium', rate: '0.05', example: { credits: '5', ai_cost: '4.761905', creator: '0.238095' } },
    ]);
  });

  it('"See … which operations are consuming the most AI credits"', async () => {
    const { tally } = await openTestTally({ config: PRESET });
    await tally.putAccount({ id: 'maker', kind: 'user' });
    await tally.subscribe({ account: 'maker', plan: 'super' });
    await tally.charge({ account: 'maker', operation: 'tts.speak', usage: { characters: 4000 } }); // 80
    await tally.charge({
      account: 'maker',
      operation: 'image.advanced',
      usage: { images: 1, input_tokens: 1000 },
    }); // 150
    await tally.charge({ account: 'maker', operation: 'tts.speak', usage: { characters: 500 } }); // 10
    const usage = await tally.usage({ account: 'maker', group_by: 'operation' });
    expect(usage.groups).toEqual([
      { key: 'image.advanced', credits: '150', count: 1, failed: 0 },
      { key: 'tts.speak', credits: '90', count: 2, failed: 0 },
    ]);
  });
});
