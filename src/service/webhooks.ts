/**
 * Webhooks (SPEC C12): endpoints subscribe to event types; a dispatcher fans each event out of
 * the outbox into one delivery per matching endpoint, POSTs it signed the Standard Webhooks way
 * (`standardwebhooks`), retries failures with exponential backoff for 24 hours, and logs every
 * attempt. Deliveries can be replayed by hand. The event id is the `webhook-id`, so receivers
 * can drop duplicates.
 */

import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import type { z } from 'zod';
import { assert } from '../domain/assert.ts';
import { EVENT_TYPES } from '../domain/events.ts';
import {
  WEBHOOK_BACKOFF_SECONDS,
  WEBHOOK_BATCH_MAX,
  WEBHOOK_CONCURRENT_DELIVERIES_MAX,
  WEBHOOK_CONCURRENT_DELIVERIES_PER_ENDPOINT_MAX,
  WEBHOOK_ENDPOINTS_MAX,
  WEBHOOK_LEASE_MS,
  WEBHOOK_RETRY_WINDOW_MS,
  WEBHOOK_TIMEOUT_MS,
} from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { deliveryAnswer, eventAnswer, webhookEndpointAnswer } from '../schema/answers.ts';
import type {
  EventRow,
  Store,
  StoreTransaction,
  WebhookAttemptRow,
  WebhookDeliveryRow,
  WebhookEndpointRow,
} from '../store/store.ts';
import { type Clock, systemClock } from './clock.ts';
import type { IdGenerator } from './ids.ts';
import { type Page, pageOf, pageSize } from './reads/page.ts';
import { isoTime } from './views.ts';
import {
  checkedLookup,
  checkWebhookUrl,
  type Resolve,
  systemResolve,
  type WebhookTargetPolicy,
} from './webhook-targets.ts';

export type EventView = z.infer<typeof eventAnswer>;

export const eventView = (row: EventRow): EventView => ({
  id: row.id,
  type: row.type,
  account: row.account_id,
  created_at: isoTime(row.created_at_ms),
  data: row.data,
});

export type EndpointView = z.infer<typeof webhookEndpointAnswer>;

const endpointView = (row: WebhookEndpointRow): EndpointView => ({
  id: row.id,
  url: row.url,
  events: row.event_types,
  created_at: isoTime(row.created_at_ms),
});

export type DeliveryView = z.infer<typeof deliveryAnswer>;

function deliveryView(row: WebhookDeliveryRow, attempts: WebhookAttemptRow[]): DeliveryView {
  return {
    id: row.id,
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    status: row.status,
    attempts: attempts.map((attempt) => ({
      at: isoTime(attempt.at_ms),
      status_code: attempt.status_code,
      error: attempt.error,
      duration_ms: attempt.duration_ms,
    })),
    next_attempt_at: row.status === 'pending' ? isoTime(row.next_attempt_at_ms) : null,
    created_at: isoTime(row.created_at_ms),
    completed_at: row.completed_at_ms === null ? null : isoTime(row.completed_at_ms),
  };
}

/** When to try again after `attempts` failures, or null when the retry window has closed. */
export function nextAttemptAt(created_at_ms: number, attempts: number, now_ms: number): number | null {
  const wait_seconds = WEBHOOK_BACKOFF_SECONDS[Math.min(attempts, WEBHOOK_BACKOFF_SECONDS.length) - 1]!;
  const next_ms = now_ms + wait_seconds * 1000;
  return next_ms - created_at_ms > WEBHOOK_RETRY_WINDOW_MS ? null : next_ms;
}

const subscribes = (endpoint: WebhookEndpointRow, type: string) =>
  endpoint.disabled_at_ms === null &&
  (endpoint.event_types.includes('*') || endpoint.event_types.includes(type));

export interface DispatchReport {
  fanned_out: number;
  delivered: number;
  failed_attempts: number;
}

/** Validates and writes a new endpoint; the answer carries its signing secret. */
export async function insertEndpoint(
  transaction: StoreTransaction,
  ids: IdGenerator,
  input: { url: string; events: string[] },
  targets: WebhookTargetPolicy,
  now_ms: number,
): Promise<EndpointView & { secret: string }> {
  checkWebhookUrl(input.url, targets);
  const unknown = input.events.filter(
    (type) => type !== '*' && !(EVENT_TYPES as readonly string[]).includes(type),
  );
  if (input.events.length === 0 || unknown.length > 0) {
    throw new TallyError('invalid_request', `events must list some of: *, ${EVENT_TYPES.join(', ')}`, {
      errors: [
        {
          field: 'events',
          code: 'invalid_request',
          message: `unknown: ${unknown.join(', ') || '(none given)'}`,
        },
      ],
    });
  }
  if ((await transaction.listWebhookEndpoints()).length >= WEBHOOK_ENDPOINTS_MAX) {
    throw new TallyError('invalid_request', `at most ${WEBHOOK_ENDPOINTS_MAX} webhook endpoints`);
  }
  const row: WebhookEndpointRow = {
    id: ids.next('whe', now_ms),
    url: input.url,
    event_types: [...new Set(input.events)],
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    created_at_ms: now_ms,
    disabled_at_ms: null,
  };
  await transaction.insertWebhookEndpoint(row);
  return { ...endpointView(row), secret: row.secret };
}

/** Puts a delivery back in line for the next pass, whatever became of it. */
export async function replayDelivery(
  transaction: StoreTransaction,
  delivery_id: string,
  now_ms: number,
): Promise<DeliveryView> {
  const delivery = await transaction.getWebhookDelivery(delivery_id);
  if (!delivery) throw new TallyError('not_found', `no webhook delivery ${delivery_id}`);
  const replayed = {
    ...delivery,
    status: 'pending' as const,
    next_attempt_at_ms: now_ms,
    completed_at_ms: null,
  };
  await transaction.updateWebhookDelivery(replayed);
  return deliveryView(replayed, await transaction.listWebhookAttempts(delivery_id));
}

export class Webhooks {
  /** Who this dispatcher is when it holds leases: unique per process. */
  private readonly owner = `dispatcher_${randomBytes(8).toString('hex')}`;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    /** Which targets deliveries may reach (webhook-targets.ts). */
    private readonly targets: WebhookTargetPolicy = { allow_loopback: false },
    /** How host names are resolved at delivery: node:dns unless a test gives its own. */
    private readonly resolve: Resolve = systemResolve,
    /** Signatures carry real time, so receivers can refuse stale messages; scheduling uses the engine clock. */
    private readonly wall_clock: Clock = systemClock,
  ) {}

  /** Subscribes a URL to event types (the library's way; over HTTP it is the create_webhook_endpoint command). */
  async createEndpoint(input: { url: string; events: string[] }): Promise<EndpointView & { secret: string }> {
    return this.store.transaction((transaction) =>
      insertEndpoint(transaction, this.ids, input, this.targets, this.clock.now_ms()),
    );
  }

  async listEndpoints(): Promise<EndpointView[]> {
    return (await this.store.read((transaction) => transaction.listWebhookEndpoints())).map(endpointView);
  }

  /** The delivery log of an endpoint, newest first, with every attempt, a page at a time. */
  async deliveries(
    endpoint_id: string,
    query: { cursor?: string; limit?: number } = {},
  ): Promise<Page<DeliveryView>> {
    const limit = pageSize(query.limit);
    return this.store.read(async (transaction) => {
      if (!(await transaction.getWebhookEndpoint(endpoint_id)))
        throw new TallyError('not_found', `no webhook endpoint ${endpoint_id}`);
      const rows = await transaction.listWebhookDeliveries(endpoint_id, {
        before: query.cursor,
        limit: limit + 1,
      });
      const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
      const data = await Promise.all(
        page.map(async (row) => deliveryView(row, await transaction.listWebhookAttempts(row.id))),
      );
      return { data, next_cursor };
    });
  }

  /** Sends a delivery again at the next pass, whatever became of it. */
  async replay(delivery_id: string): Promise<DeliveryView> {
    return this.store.transaction((transaction) =>
      replayDelivery(transaction, delivery_id, this.clock.now_ms()),
    );
  }

  /** One pass: fan new events out to endpoints, then attempt every delivery that is due. */
  async dispatch(): Promise<DispatchReport> {
    const report: DispatchReport = { fanned_out: 0, delivered: 0, failed_attempts: 0 };
    report.fanned_out = await this.store.transaction(async (transaction) => {
      const events = await transaction.listUndispatchedEvents(WEBHOOK_BATCH_MAX);
      if (events.length === 0) return 0;
      const endpoints = await transaction.listWebhookEndpoints();
      let created = 0;
      for (const event of events) {
        for (const endpoint of endpoints.filter((candidate) => subscribes(candidate, event.type))) {
          await transaction.insertWebhookDelivery({
            id: this.ids.next('whd', event.created_at_ms),
            endpoint_id: endpoint.id,
            event_id: event.id,
            status: 'pending',
            attempts: 0,
            next_attempt_at_ms: event.created_at_ms,
            created_at_ms: event.created_at_ms,
            completed_at_ms: null,
          });
          created++;
        }
      }
      await transaction.markEventsDispatched(events.map((event) => event.id));
      return created;
    });
    const now_ms = this.clock.now_ms();
    const due = await this.store.transaction((transaction) =>
      transaction.claimDueWebhookDeliveries(now_ms, this.owner, now_ms + WEBHOOK_LEASE_MS, WEBHOOK_BATCH_MAX),
    );
    // Concurrently, so one slow receiver holds up only its own deliveries: a few at once per
    // endpoint, and a bound over all of them.
    const overall = new Semaphore(WEBHOOK_CONCURRENT_DELIVERIES_MAX);
    const by_endpoint = new Map<string, WebhookDeliveryRow[]>();
    for (const delivery of due)
      by_endpoint.set(delivery.endpoint_id, [...(by_endpoint.get(delivery.endpoint_id) ?? []), delivery]);
    const worker = async (queue: WebhookDeliveryRow[]) => {
      for (let delivery = queue.shift(); delivery; delivery = queue.shift()) {
        await overall.acquire();
        try {
          if (await this.attempt(delivery)) report.delivered++;
          else report.failed_attempts++;
        } finally {
          overall.release();
        }
      }
    };
    await Promise.all(
      [...by_endpoint.values()].flatMap((queue) =>
        Array.from({ length: Math.min(queue.length, WEBHOOK_CONCURRENT_DELIVERIES_PER_ENDPOINT_MAX) }, () =>
          worker(queue),
        ),
      ),
    );
    return report;
  }

  private async attempt(delivery: WebhookDeliveryRow): Promise<boolean> {
    const { endpoint, row } = await this.store.read(async (transaction) => ({
      endpoint: await transaction.getWebhookEndpoint(delivery.endpoint_id),
      row: await transaction.getEvent(delivery.event_id),
    }));
    assert(endpoint && row, `delivery ${delivery.id} points at its endpoint and event`);
    const payload = JSON.stringify(eventView(row));
    const signed_at = new Date(this.wall_clock.now_ms());
    const started_ms = this.wall_clock.now_ms();
    let status_code: number | null = null;
    let error: string | null = null;
    try {
      status_code = await this.post(endpoint.url, payload, {
        'content-type': 'application/json',
        'webhook-id': row.id,
        'webhook-timestamp': String(Math.floor(signed_at.getTime() / 1000)),
        'webhook-signature': new Webhook(endpoint.secret).sign(row.id, signed_at, payload),
      });
      // A redirect is not followed (it could lead anywhere): it is a failed attempt like any non-2xx.
      if (status_code < 200 || status_code >= 300) error = `HTTP ${status_code}`;
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    const succeeded = error === null;
    const now_ms = this.clock.now_ms();
    await this.store.transaction(async (transaction) => {
      const attempts = delivery.attempts + 1;
      const next_ms = succeeded ? null : nextAttemptAt(delivery.created_at_ms, attempts, now_ms);
      const recorded = await transaction.completeWebhookDelivery(
        {
          ...delivery,
          attempts,
          status: succeeded ? 'succeeded' : next_ms === null ? 'failed' : 'pending',
          next_attempt_at_ms: next_ms ?? now_ms,
          completed_at_ms: succeeded || next_ms === null ? now_ms : null,
        },
        this.owner,
      );
      // A lease lost (this worker stalled past it) means another worker owns the delivery now.
      if (!recorded) return;
      await transaction.insertWebhookAttempt({
        delivery_id: delivery.id,
        attempt: attempts,
        at_ms: now_ms,
        status_code,
        error,
        duration_ms: this.wall_clock.now_ms() - started_ms,
      });
    });
    return succeeded;
  }

  /**
   * POSTs one delivery and answers the status code. The connection resolves its host through
   * checkedLookup, so it never opens to an internal address; an IP literal (which needs no
   * lookup) is checked against the policy of now, not only of registration.
   */
  private post(target: string, payload: string, headers: Record<string, string>): Promise<number> {
    const url = checkWebhookUrl(target, this.targets);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(payload) },
          lookup: checkedLookup(this.targets, this.resolve) as never,
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        },
        (response) => {
          response.resume(); // the body is not read: only the status counts
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }
}

/** At most `permits` holders at once; the others wait their turn in order. */
class Semaphore {
  private readonly waiting: (() => void)[] = [];

  constructor(private permits: number) {}

  async acquire(): Promise<void> {
    if (this.permits > 0) {
      this.permits--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.permits++;
  }
}
