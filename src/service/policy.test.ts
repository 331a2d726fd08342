import { describe, expect, it } from 'vitest';
import type { TallyError } from '../domain/results.ts';
import { compileConfig, compilePriceBook } from '../schema/config.ts';
import type { SubscriptionRow } from '../store/store.ts';
import { entitlementsOf, requireEntitlement, unblockOptions } from './policy.ts';

const config = compileConfig({
  plans: {
    pro: { price: { currency: 'USD', amount_minor: 1900 }, rank: 1, entitlements: ['premium_models'] },
    team: {
      price: { currency: 'USD', amount_minor: 9900 },
      rank: 2,
      entitlements: ['premium_models', 'seats'],
    },
  },
  price_book: {
    operations: {
      chat: {
        models: {
          small: { rates: { output_tokens: '0.001' } },
          large: { rates: { output_tokens: '0.01' }, requires_entitlement: 'premium_models' },
        },
      },
    },
  },
});
const subscription = (plan_id: string, status: SubscriptionRow['status'] = 'active') =>
  ({ plan_id, status, overrides: {} }) as unknown as SubscriptionRow;

describe('policy', () => {
  it('entitles an account by its active plan and that plan alone', () => {
    expect([...entitlementsOf(config, subscription('pro'))]).toEqual(['premium_models']);
    expect([...entitlementsOf(config, subscription('team', 'canceled'))]).toEqual([]);
    expect([...entitlementsOf(config, undefined)]).toEqual([]);
  });

  it('refuses a model that needs an entitlement the account lacks, naming the plans that give it', () => {
    const book = compilePriceBook(config.price_book_document);
    const chat = book.operations.get('chat')!;
    expect(() => requireEntitlement(config, undefined, chat, 'small')).not.toThrow();
    const refusal = (() => {
      try {
        requireEntitlement(config, undefined, chat, 'large');
      } catch (error) {
        return error as TallyError;
      }
    })();
    expect([refusal?.code, refusal?.extensions]).toEqual([
      'entitlement_required',
      { entitlement: 'premium_models', plans: ['pro', 'team'], options: ['upgrade'] },
    ]);
    expect(() => requireEntitlement(config, subscription('pro'), chat, 'large')).not.toThrow();
  });

  it('offers a top-up always, an upgrade while a higher plan exists, and waiting when a limit resets', () => {
    const context = { statuses: [], premium: [], config, subscription: subscription('team') };
    const limit = {
      kind: 'limit',
      limit_id: 'd',
      set_by: 'operator',
      window: 'day',
      max: '1',
      used: '1',
    } as const;
    expect(unblockOptions([{ ...limit, resets_at: '2026-01-02T00:00:00.000Z' }], context)).toEqual([
      'top_up',
      'wait',
    ]);
    expect(unblockOptions([], { ...context, subscription: subscription('pro') })).toEqual([
      'top_up',
      'upgrade',
    ]);
  });
});
