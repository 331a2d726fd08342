/** The store contract, events and webhooks: the outbox, deliveries, leases and attempts. */
import { beforeEach, expect, it } from 'vitest';
import type { Store } from '../store.ts';

import { T0 } from './fixtures.ts';

export function eventsContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('keeps events in an outbox and webhook deliveries with their attempts', async () => {
    const event = (account_id: string, id: string, type: string) => ({
      account_id,
      id,
      type,
      data: { n: id },
      created_at_ms: T0,
    });
    await store.transaction(async (tx) => {
      await tx.insertEvent(event('alice', 'evt_1', 'balance.low'));
      await tx.insertEvent(event('bob', 'evt_2', 'balance.low'));
      await tx.insertEvent(event('alice', 'evt_3', 'grant.expired'));
    });
    const ids = (rows: { id: string }[]) => rows.map((row) => row.id);
    expect(ids(await store.read((tx) => tx.listEvents({}, 10)))).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(ids(await store.read((tx) => tx.listEvents({ account_id: 'alice' }, 10)))).toEqual([
      'evt_1',
      'evt_3',
    ]);
    expect(ids(await store.read((tx) => tx.listEvents({ type: 'balance.low', after: 'evt_1' }, 10)))).toEqual(
      ['evt_2'],
    );
    expect(await store.read((tx) => tx.getEvent('evt_2'))).toEqual(event('bob', 'evt_2', 'balance.low'));
    await store.transaction((tx) => tx.markEventsDispatched(['evt_1', 'evt_2']));
    expect(ids(await store.read((tx) => tx.listUndispatchedEvents(10)))).toEqual(['evt_3']);

    const endpoint = {
      id: 'whe_1',
      url: 'http://127.0.0.1:1/x',
      event_types: ['*'],
      secret: 'whsec_x',
      created_at_ms: T0,
      disabled_at_ms: null,
    };
    const delivery = {
      id: 'whd_1',
      endpoint_id: 'whe_1',
      event_id: 'evt_1',
      status: 'pending' as const,
      attempts: 0,
      next_attempt_at_ms: T0 + 5,
      created_at_ms: T0,
      completed_at_ms: null,
    };
    await store.transaction(async (tx) => {
      await tx.insertWebhookEndpoint(endpoint);
      await tx.insertWebhookDelivery(delivery);
    });
    expect(await store.read((tx) => tx.listWebhookEndpoints())).toEqual([endpoint]);
    expect(await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 4, 'a', T0 + 60, 10))).toEqual(
      [],
    );
    expect(await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 5, 'a', T0 + 60, 10))).toEqual([
      delivery,
    ]);
    // Held by a's lease: nobody else gets it until the lease lapses.
    expect(await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 59, 'b', T0 + 120, 10))).toEqual(
      [],
    );
    expect(await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 60, 'b', T0 + 120, 10))).toEqual(
      [delivery],
    );
    // a's lease is lost: its outcome is not written; b's is.
    expect(
      await store.transaction((tx) => tx.completeWebhookDelivery({ ...delivery, status: 'failed' }, 'a')),
    ).toBe(false);
    await store.transaction(async (tx) => {
      await tx.insertWebhookAttempt({
        delivery_id: 'whd_1',
        attempt: 1,
        at_ms: T0 + 5,
        status_code: 500,
        error: 'HTTP 500',
        duration_ms: 3,
      });
      const done = { ...delivery, status: 'succeeded' as const, attempts: 1, completed_at_ms: T0 + 6 };
      expect(await tx.completeWebhookDelivery(done, 'b')).toBe(true);
    });
    expect(
      await store.transaction((tx) => tx.claimDueWebhookDeliveries(T0 + 1_000, 'c', T0 + 2_000, 10)),
    ).toEqual([]);
    expect((await store.read((tx) => tx.getWebhookDelivery('whd_1')))?.status).toBe('succeeded');
    expect(
      (await store.read((tx) => tx.listWebhookAttempts('whd_1'))).map((attempt) => attempt.status_code),
    ).toEqual([500]);
    await expect(
      store.transaction((tx) => tx.insertWebhookDelivery({ ...delivery, id: 'whd_2' })),
    ).rejects.toThrow();
    await store.transaction((tx) =>
      tx.insertWebhookDelivery({ ...delivery, id: 'whd_2', event_id: 'evt_2' }),
    );
    const deliveryIds = async (page: { before?: string; limit: number }) =>
      (await store.read((tx) => tx.listWebhookDeliveries('whe_1', page))).map((row) => row.id);
    expect(await deliveryIds({ limit: 1 })).toEqual(['whd_2']);
    expect(await deliveryIds({ before: 'whd_2', limit: 10 })).toEqual(['whd_1']);
  });
}
