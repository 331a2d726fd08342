import { beforeEach, describe, expect, it } from 'vitest';
import { ledgerSnapshot, openTestTally, refusal } from '../../test/helpers.ts';
import type { TestClock } from './clock.ts';
import type { Tally } from './tally.ts';

let tally: Tally;
let clock: TestClock;

beforeEach(async () => {
  ({ tally, clock } = await openTestTally());
  await tally.putAccount({ id: 'alice', kind: 'user', timezone: 'Europe/Berlin' });
});

describe('accounts', () => {
  it('creates and updates an account, keeping its kind', async () => {
    expect(await tally.getAccount('alice')).toMatchObject({
      id: 'alice',
      kind: 'user',
      timezone: 'Europe/Berlin',
      status: 'active',
    });
    await tally.putAccount({ id: 'alice', kind: 'user', timezone: 'Asia/Tokyo' });
    expect((await tally.getAccount('alice')).timezone).toBe('Asia/Tokyo');
    expect((await refusal(tally.putAccount({ id: 'alice', kind: 'team' }))).code).toBe(
      'account_kind_mismatch',
    );
    expect(
      (await refusal(tally.putAccount({ id: 'bob', kind: 'user', timezone: 'Mars/Olympus' }))).code,
    ).toBe('timezone_invalid');
    expect((await refusal(tally.getAccount('nobody'))).code).toBe('account_not_found');
    // Timezones are stored by their canonical IANA names, however they were typed.
    await tally.putAccount({ id: 'carl', kind: 'user', timezone: 'utc' });
    await tally.putAccount({ id: 'dana', kind: 'user', timezone: 'europe/PARIS' });
    expect([(await tally.getAccount('carl')).timezone, (await tally.getAccount('dana')).timezone]).toEqual([
      'UTC',
      'Europe/Paris',
    ]);
  });
});

describe('reserve and settle', () => {
  beforeEach(async () => {
    await tally.issueGrant({
      account: 'alice',
      kind: 'daily',
      amount: '50',
      expires_at: '2026-03-02T00:00:00Z',
    });
    await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '100' });
  });

  it('holds credits at once and returns what the run did not use to the grants they came from', async () => {
    const reservation = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '80' });
    expect(reservation.grants.map((grant) => [grant.kind, grant.amount])).toEqual([
      ['daily', '50'],
      ['bonus', '30'],
    ]);
    expect(await tally.getBalance('alice')).toMatchObject({ available: '70', held: '80' });
    // 10,000 input × 0.001 + 2,000 output × 0.004 = 18 credits.
    const charge = await tally.settle({
      reservation: reservation.id,
      usage: { input_tokens: 10_000, output_tokens: 2_000 },
    });
    expect(charge).toMatchObject({
      credits: '18',
      outcome: 'succeeded',
      price_version: 1,
      reservation_id: reservation.id,
    });
    expect(charge.grants.map((grant) => [grant.kind, grant.amount])).toEqual([['daily', '18']]);
    const balance = await tally.getBalance('alice');
    expect(balance).toMatchObject({ available: '132', held: '0' });
    expect(balance.by_kind.daily?.available).toBe('32');
    expect(balance.by_kind.bonus?.available).toBe('100');
    expect((await tally.getReservation(reservation.id)).status).toBe('settled');
  });

  it('caps a settlement above the reservation at the reserved amount', async () => {
    const reservation = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '5' });
    const charge = await tally.settle({ reservation: reservation.id, usage: { output_tokens: 10_000 } });
    // The run cost 40; the user pays the 5 they were shown, and the 35 not collected is on record.
    expect(charge).toMatchObject({ credits: '5', uncollected: '35' });
    expect((await tally.getBalance('alice')).available).toBe('145');
  });

  it('draws the excess from the balance when the operator allows overage, never below zero', async () => {
    const opened = await openTestTally({
      config: { ...(await import('../../test/helpers.ts')).TEST_CONFIG, settlement: { overage: 'draw' } },
    });
    const engine = opened.tally;
    await engine.putAccount({ id: 'bob', kind: 'user' });
    await engine.issueGrant({ account: 'bob', kind: 'bonus', amount: '30' });
    const reservation = await engine.reserve({ account: 'bob', operation: 'chat.fast', max_credits: '5' });
    const charge = await engine.settle({ reservation: reservation.id, usage: { output_tokens: 5_000 } });
    expect(charge).toMatchObject({ credits: '20', uncollected: '0' });
    const greedy = await engine.reserve({ account: 'bob', operation: 'chat.fast', max_credits: '1' });
    const capped = await engine.settle({ reservation: greedy.id, usage: { output_tokens: 100_000 } });
    expect(capped).toMatchObject({ credits: '10', uncollected: '390' });
    expect((await engine.getBalance('bob')).available).toBe('0');
    expect((await engine.verify()).ok).toBe(true);
  });

  it('charges failed runs by the operation policy', async () => {
    const reservation = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '20' });
    const charge = await tally.settle({
      reservation: reservation.id,
      usage: { output_tokens: 1000 },
      outcome: 'failed',
    });
    expect(charge).toMatchObject({ credits: '0', outcome: 'failed' });
    const image = await tally.reserve({
      account: 'alice',
      operation: 'image.standard',
      usage: { images: 2 },
    });
    expect(image.amount).toBe('20');
    expect(
      (await tally.settle({ reservation: image.id, usage: { images: 2 }, outcome: 'failed' })).credits,
    ).toBe('20');
  });

  it('reserves an operation by its maximum when no usage is given, and refuses when there is none', async () => {
    expect((await tally.reserve({ account: 'alice', operation: 'web.extract' })).amount).toBe('8');
    expect((await refusal(tally.reserve({ account: 'alice', operation: 'chat.fast' }))).code).toBe(
      'usage_required',
    );
  });

  it('releases a reservation: every held credit comes back', async () => {
    const reservation = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '120' });
    const released = await tally.release({ reservation: reservation.id, reason: 'user cancelled' });
    expect(released.status).toBe('released');
    expect(await tally.getBalance('alice')).toMatchObject({ available: '150', held: '0' });
    expect((await refusal(tally.settle({ reservation: reservation.id, usage: {} }))).code).toBe(
      'reservation_released',
    );
    expect((await refusal(tally.release({ reservation: reservation.id }))).code).toBe('reservation_released');
  });

  it('frees a reservation past its TTL for every read at once, and books the expiry later', async () => {
    const reservation = await tally.reserve({
      account: 'alice',
      operation: 'chat.fast',
      max_credits: '60',
      ttl_seconds: 60,
    });
    expect((await tally.getBalance('alice')).available).toBe('90');
    clock.advanceSeconds(60);
    expect((await tally.getBalance('alice')).available).toBe('150');
    expect((await tally.getReservation(reservation.id)).status).toBe('expired');
    expect(await tally.bookDueWork()).toEqual({
      accounts: 1,
      reservations_expired: 1,
      grants_expired: 0,
      grants_announced: 0,
    });
    expect(await tally.bookDueWork()).toEqual({
      accounts: 0,
      reservations_expired: 0,
      grants_expired: 0,
      grants_announced: 0,
    });
    expect((await refusal(tally.settle({ reservation: reservation.id, usage: {} }))).code).toBe(
      'reservation_expired',
    );
    expect((await tally.verify()).ok).toBe(true);
  });

  it('settles and releases reservations another process made, which this one never saw', async () => {
    // A second engine on the same store: it has not remembered which account the reservations are on.
    const { tally: other } = await openTestTally({ store: tally.store });
    const first = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '10' });
    const second = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '5' });
    expect((await other.settle({ reservation: first.id, usage: { output_tokens: 1_000 } })).credits).toBe(
      '4',
    );
    expect((await other.release({ reservation: second.id })).status).toBe('released');
    expect((await refusal(other.settle({ reservation: 'rsv_unknown', usage: {} }))).code).toBe(
      'reservation_not_found',
    );
    expect((await refusal(tally.settle({ reservation: first.id, usage: {} }))).code).toBe(
      'reservation_already_settled',
    );
    expect(await tally.getBalance('alice')).toMatchObject({ available: '146', held: '0' });
  });

  it('refuses a TTL outside 1..3600 seconds', async () => {
    const error = await refusal(
      tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '1', ttl_seconds: 3601 }),
    );
    expect(error.code).toBe('ttl_out_of_range');
  });

  it('lets credits of a grant that expired during the reservation expire instead of coming back', async () => {
    clock.set('2026-03-01T23:30:00Z');
    const reservation = await tally.reserve({
      account: 'alice',
      operation: 'chat.fast',
      max_credits: '60',
      ttl_seconds: 3600,
    });
    clock.set('2026-03-02T00:10:00Z');
    // The daily grant (50 held) expired at midnight; only 3 credits are used, from it.
    const charge = await tally.settle({ reservation: reservation.id, usage: { input_tokens: 3_000 } });
    expect(charge.credits).toBe('3');
    const balance = await tally.getBalance('alice');
    expect(balance.available).toBe('100');
    // Closed grants leave the balance; the grants listing keeps them.
    expect(balance.grants.find((grant) => grant.kind === 'daily')).toBeUndefined();
    expect((await tally.listGrants('alice')).find((grant) => grant.kind === 'daily')?.status).toBe('expired');
    expect((await tally.verify()).ok).toBe(true);
  });

  it('settles only once', async () => {
    const reservation = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '10' });
    await tally.settle({ reservation: reservation.id, usage: { input_tokens: 100 } });
    expect(
      (await refusal(tally.settle({ reservation: reservation.id, usage: { input_tokens: 100 } }))).code,
    ).toBe('reservation_already_settled');
  });

  it('explains a refusal for lack of credits, including grants a restriction keeps out', async () => {
    await tally.issueGrant({
      account: 'alice',
      kind: 'promo',
      amount: '40',
      allowed_operations: ['image.*'],
    });
    const error = await refusal(
      tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '200' }),
    );
    expect(error.code).toBe('insufficient_credits');
    expect(error.status).toBe(402);
    expect(error.extensions).toMatchObject({
      needed: '200',
      available: '150',
      blocked_by: [{ kind: 'restriction', grant_kind: 'promo', amount: '40' }],
      options: ['top_up'],
    });
    // The restricted grant does pay for what it is allowed to.
    const image = await tally.reserve({
      account: 'alice',
      operation: 'image.standard',
      usage: { images: 1 },
    });
    expect(image.grants.map((grant) => grant.kind)).toEqual(['daily']);
  });
});

describe('one-step charges, refunds and revocation', () => {
  it('charges a known cost in one step, draw-down order included', async () => {
    await tally.issueGrant({ account: 'alice', kind: 'purchased', amount: '10' });
    await tally.issueGrant({ account: 'alice', kind: 'free', amount: '5' });
    const charge = await tally.charge({
      account: 'alice',
      operation: 'web.extract',
      usage: {},
      metadata: { project: 'p1' },
    });
    expect(charge.grants.map((grant) => [grant.kind, grant.amount])).toEqual([
      ['free', '5'],
      ['purchased', '3'],
    ]);
    expect(charge.metadata).toEqual({ project: 'p1' });
    expect(
      (await refusal(tally.charge({ account: 'alice', operation: 'web.extract', usage: {} }))).code,
    ).toBe('insufficient_credits');
  });

  it('refunds as a non-expiring bonus grant pointing at the charge, never more than was charged', async () => {
    await tally.issueGrant({
      account: 'alice',
      kind: 'daily',
      amount: '20',
      expires_at: '2026-03-02T00:00:00Z',
    });
    const charge = await tally.charge({ account: 'alice', operation: 'web.extract', usage: {} });
    const refund = await tally.refundCharge({ charge: charge.id, amount: '3', reason: 'retry loop' });
    expect(refund.grant).toMatchObject({
      kind: 'bonus',
      amount: '3',
      expires_at: null,
      source: 'refund',
      refund_of: charge.id,
    });
    expect(
      (await refusal(tally.refundCharge({ charge: charge.id, amount: '5.000001', reason: 'x' }))).code,
    ).toBe('refund_exceeds_charge');
    const rest = await tally.refundCharge({ charge: charge.id, reason: 'rest' });
    expect(rest.amount).toBe('5');
    expect((await tally.getCharge(charge.id)).refunded).toBe('8');
    expect((await refusal(tally.refundCharge({ charge: charge.id, reason: 'again' }))).code).toBe(
      'refund_exceeds_charge',
    );
    expect((await tally.getBalance('alice')).available).toBe('20');
  });

  it('revokes what a grant has left; held credits stay with their reservation', async () => {
    const grant = await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '30' });
    const reservation = await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '10' });
    const revoked = await tally.revokeGrant({ grant: grant.id, reason: 'abuse' });
    expect(revoked).toMatchObject({ status: 'revoked', remaining: '0', closed_reason: 'abuse' });
    expect((await tally.listGrants('alice')).find((view) => view.id === grant.id)?.closed_reason).toBe(
      'abuse',
    );
    expect(await tally.getBalance('alice')).toMatchObject({ available: '0', held: '10' });
    const charge = await tally.settle({ reservation: reservation.id, usage: { input_tokens: 4_000 } });
    expect(charge.credits).toBe('4');
    expect((await tally.getBalance('alice')).available).toBe('0');
    expect((await refusal(tally.revokeGrant({ grant: grant.id, reason: 'again' }))).code).toBe(
      'grant_not_active',
    );
    expect((await tally.verify()).ok).toBe(true);
  });

  it('counts a grant only between its effective and expiry times, without any job', async () => {
    await tally.issueGrant({
      account: 'alice',
      kind: 'promo',
      amount: '25',
      effective_at: '2026-03-01T12:00:00Z',
      expires_at: '2026-03-01T13:00:00Z',
    });
    expect((await tally.getBalance('alice')).available).toBe('0');
    clock.set('2026-03-01T12:00:00Z');
    expect((await tally.getBalance('alice')).available).toBe('25');
    expect((await tally.getBalance('alice')).next_expiry).toEqual({
      amount: '25',
      at: '2026-03-01T13:00:00.000Z',
    });
    clock.set('2026-03-01T13:00:00Z');
    expect((await tally.getBalance('alice')).available).toBe('0');
    expect(await tally.bookDueWork()).toMatchObject({ grants_expired: 1 });
    expect((await tally.verify()).ok).toBe(true);
  });
});

describe('idempotency', () => {
  beforeEach(async () => {
    await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '100' });
  });

  it('answers a replay with the first result and changes nothing', async () => {
    const replays: string[] = [];
    const request = { account: 'alice', operation: 'chat.fast', max_credits: '10' };
    const first = await tally.reserve(request, {
      idempotency_key: 'k1',
      on_replay: () => replays.push('first'),
    });
    const before = await ledgerSnapshot(tally);
    clock.advanceSeconds(5);
    const again = await tally.reserve(request, {
      idempotency_key: 'k1',
      on_replay: () => replays.push('again'),
    });
    expect(again).toEqual(first);
    expect(replays).toEqual(['again']);
    expect(await ledgerSnapshot(tally)).toEqual(before);
  });

  it('refuses the same key with a different request, and namespaces keys by command', async () => {
    await tally.reserve(
      { account: 'alice', operation: 'chat.fast', max_credits: '10' },
      { idempotency_key: 'k1' },
    );
    const error = await refusal(
      tally.reserve(
        { account: 'alice', operation: 'chat.fast', max_credits: '11' },
        { idempotency_key: 'k1' },
      ),
    );
    expect(error.code).toBe('idempotency_key_reused');
    expect(error.status).toBe(409);
    // The same key on another command is another key.
    await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '1' }, { idempotency_key: 'k1' });
    expect((await tally.getBalance('alice')).available).toBe('91');
  });

  it('does not store refusals: a retry after a top-up succeeds', async () => {
    const request = { account: 'alice', operation: 'chat.fast', max_credits: '150' };
    expect((await refusal(tally.reserve(request, { idempotency_key: 'k2' }))).code).toBe(
      'insufficient_credits',
    );
    await tally.issueGrant({ account: 'alice', kind: 'purchased', amount: '50' });
    expect((await tally.reserve(request, { idempotency_key: 'k2' })).amount).toBe('150');
  });

  it('refuses an empty or over-long key', async () => {
    const request = { account: 'alice', kind: 'bonus', amount: '1' };
    expect((await refusal(tally.issueGrant(request, { idempotency_key: '' }))).code).toBe(
      'idempotency_key_invalid',
    );
    expect((await refusal(tally.issueGrant(request, { idempotency_key: 'k'.repeat(256) }))).code).toBe(
      'idempotency_key_invalid',
    );
  });
});

describe('bad input changes nothing', () => {
  let reservation_id: string;
  let released_id: string;

  beforeEach(async () => {
    await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '100' });
    reservation_id = (await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '10' }))
      .id;
    await tally.settle({ reservation: reservation_id, usage: { input_tokens: 10 } });
    released_id = (await tally.reserve({ account: 'alice', operation: 'chat.fast', max_credits: '10' })).id;
    await tally.release({ reservation: released_id });
  });

  const cases: [string, () => Promise<unknown>, string][] = [
    [
      'a negative amount',
      () => tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '-5' }),
      'amount_not_positive',
    ],
    [
      'a zero amount',
      () => tally.issueGrant({ account: 'alice', kind: 'bonus', amount: 0 }),
      'amount_not_positive',
    ],
    [
      'a non-numeric amount',
      () => tally.issueGrant({ account: 'alice', kind: 'bonus', amount: 'ten' }),
      'amount_invalid',
    ],
    [
      'a JSON number with more than 6 decimals (as precise an answer as for a string)',
      () => tally.issueGrant({ account: 'alice', kind: 'bonus', amount: 1.0000001 }),
      'amount_too_precise',
    ],
    [
      'more than 6 decimals',
      () => tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '1.0000001' }),
      'amount_too_precise',
    ],
    [
      'more than 2^63-1 micro-credits',
      () => tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '9223372036854.775808' }),
      'amount_out_of_range',
    ],
    [
      'an unknown account',
      () => tally.issueGrant({ account: 'nobody', kind: 'bonus', amount: '1' }),
      'account_not_found',
    ],
    [
      'an unknown kind',
      () => tally.issueGrant({ account: 'alice', kind: 'gold', amount: '1' }),
      'kind_not_found',
    ],
    [
      'an unknown operation',
      () => tally.reserve({ account: 'alice', operation: 'chat.slow', max_credits: '1' }),
      'operation_not_found',
    ],
    [
      'an unknown operation in a charge',
      () => tally.charge({ account: 'alice', operation: 'nope', usage: {} }),
      'operation_not_found',
    ],
    [
      'an unknown dimension',
      () => tally.charge({ account: 'alice', operation: 'chat.fast', usage: { pixels: 3 } }),
      'usage_dimension_unknown',
    ],
    [
      'an unknown field',
      () => tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '1', colour: 'red' } as never),
      'invalid_request',
    ],
    [
      'a settle twice',
      () => tally.settle({ reservation: reservation_id, usage: {} }),
      'reservation_already_settled',
    ],
    [
      'a settle after release',
      () => tally.settle({ reservation: released_id, usage: {} }),
      'reservation_released',
    ],
    [
      'an unknown reservation',
      () => tally.settle({ reservation: 'rsv_nope', usage: {} }),
      'reservation_not_found',
    ],
    [
      'an over-long reason',
      () => tally.refundCharge({ charge: 'ch_x', reason: 'x'.repeat(501) }),
      'invalid_request',
    ],
    ['an unknown charge', () => tally.refundCharge({ charge: 'ch_nope', reason: 'x' }), 'charge_not_found'],
    ['an unknown grant', () => tally.revokeGrant({ grant: 'gr_nope', reason: 'x' }), 'grant_not_found'],
    [
      'an expiry before the grant takes effect',
      () =>
        tally.issueGrant({
          account: 'alice',
          kind: 'bonus',
          amount: '1',
          expires_at: '2026-01-01T00:00:00Z',
        }),
      'invalid_request',
    ],
  ];

  it.each(cases)('%s is refused with a closed-set code', async (_name, command, code) => {
    const before = await ledgerSnapshot(tally);
    const error = await refusal(command());
    expect(error.code).toBe(code);
    expect(await ledgerSnapshot(tally)).toEqual(before);
  });

  it('a settle after expiry is refused, and nothing but the due expiry is booked', async () => {
    const reservation = await tally.reserve({
      account: 'alice',
      operation: 'chat.fast',
      max_credits: '5',
      ttl_seconds: 1,
    });
    clock.advanceSeconds(2);
    await tally.bookDueWork();
    const before = await ledgerSnapshot(tally);
    expect((await refusal(tally.settle({ reservation: reservation.id, usage: {} }))).code).toBe(
      'reservation_expired',
    );
    expect(await ledgerSnapshot(tally)).toEqual(before);
  });

  it('names each offending field', async () => {
    const error = await refusal(
      tally.reserve({ account: '', operation: 'chat.fast', max_credits: '-1', ttl_seconds: 0 }),
    );
    expect(error.code).toBe('invalid_request');
    expect(error.errors?.map((field) => [field.field, field.code])).toEqual([
      ['account', 'invalid_request'],
      ['max_credits', 'amount_not_positive'],
      ['ttl_seconds', 'ttl_out_of_range'],
    ]);
  });
});
