import { chainTransaction, GENESIS_HASH, move } from '../../domain/journal.ts';
import type { AccountRow, GrantRow, ReservationRow } from '../store.ts';

export const T0 = Date.parse('2026-03-01T00:00:00Z');

export function accountRow(id: string): AccountRow {
  return {
    id,
    kind: 'user',
    timezone: 'UTC',
    status: 'active',
    metadata: { plan: 'free' },
    low_balance_threshold_micros: null,
    auto_recharge_below_micros: null,
    debt_micros: 0n,
    balance_alert: 'none',
    schedule_due_at_ms: null,
    ledger: { sequence: 0, hash: GENESIS_HASH },
    created_at_ms: T0,
    updated_at_ms: T0,
  };
}

export function grantRow(
  account_id: string,
  id: string,
  amount_micros: bigint,
  overrides: Partial<GrantRow> = {},
): GrantRow {
  return {
    account_id,
    id,
    kind: 'bonus',
    priority: 4,
    amount_micros,
    remaining_micros: amount_micros,
    effective_at_ms: T0,
    expires_at_ms: null,
    source: 'admin',
    reason: null,
    status: 'active',
    allowed_operations: null,
    refund_of_charge_id: null,
    metadata: {},
    created_at_ms: T0,
    closed_at_ms: null,
    closed_reason: null,
    expiring_notified: false,
    allowance_id: null,
    period_start_ms: null,
    requires_subscription: false,
    ...overrides,
  };
}

export function reservationRow(
  account_id: string,
  id: string,
  overrides: Partial<ReservationRow> = {},
): ReservationRow {
  return {
    account_id,
    id,
    operation: 'chat.fast',
    model: 'small',
    add_ons: ['web_search'],
    member: null,
    api_key_id: null,
    status: 'held',
    amount_micros: 5_000_000n,
    price_version: 1,
    allocations: [{ grant_id: 'gr_1', kind: 'bonus', amount_micros: 5_000_000n }],
    usage: { input_tokens: '100' },
    metadata: { thread: 't1', tags: ['a'] },
    expires_at_ms: T0 + 300_000,
    created_at_ms: T0,
    resolved_at_ms: null,
    charge_id: null,
    ...overrides,
  };
}

/**
 * A journal as it stood before migration 11 moved each transaction's lines into its row: the
 * rows to write with raw SQL (`lines` into the journal_entries table of then), and the journal
 * the store must read back afterwards.
 */
export function journalFromBeforeLinesMoved() {
  const issue = chainTransaction(
    { sequence: 0, hash: GENESIS_HASH },
    {
      id: 'jtx_1',
      account_id: 'a',
      type: 'grant_issue',
      reference_id: 'gr_1',
      created_at_ms: 1_000,
      entries: move('issued', 'grant', 5_000_000n, { grant_id: 'gr_1' }),
    },
  );
  const reserve = chainTransaction(issue, {
    id: 'jtx_2',
    account_id: 'a',
    type: 'reserve',
    reference_id: 'rs_1',
    created_at_ms: 2_000,
    entries: move('grant', 'hold', 2_000_000n, { grant_id: 'gr_1', reservation_id: 'rs_1' }),
  });
  const journal = [issue, reserve];
  const transactions = journal.map((transaction) => [
    transaction.account_id,
    transaction.sequence,
    transaction.id,
    transaction.type,
    transaction.reference_id,
    transaction.created_at_ms,
    transaction.previous_hash,
    transaction.hash,
  ]);
  const lines = journal.flatMap((transaction) =>
    transaction.entries.map((entry, line) => [
      transaction.account_id,
      transaction.sequence,
      line,
      entry.book,
      entry.grant_id,
      entry.reservation_id,
      entry.amount_micros,
    ]),
  );
  return { journal, transactions, lines };
}

/**
 * Charges as a database before migration 22 holds them (columns of CHARGES_BEFORE_SPEND_BUCKETS),
 * and the spend buckets the migration sums from them, as `start/member/project/key/kind=micros`.
 */
export const CHARGES_BEFORE_SPEND_BUCKETS =
  'account_id, id, operation, add_ons_json, member, api_key_id, usage_json, credits_micros, uncollected_micros, allocations_json, outcome, price_version, metadata_json, refunded_micros, created_at_ms';
export function chargesBeforeSpendBuckets(): { rows: unknown[][]; buckets: string[] } {
  const charge = (
    id: string,
    at_ms: number,
    member: string | null,
    metadata: string,
    allocations: string,
  ) => [
    'a',
    id,
    'chat',
    '[]',
    member,
    null,
    '{}',
    3_000_000,
    0,
    allocations,
    'succeeded',
    1,
    metadata,
    0,
    at_ms,
  ];
  return {
    rows: [
      charge('ch_1', 1_000, null, '{}', '[["gr_1","bonus","1000000"],["gr_2","paid","2000000"]]'),
      charge('ch_2', 899_999, null, '{}', '[["gr_1","bonus","500000"]]'),
      charge('ch_3', 900_000, 'm1', '{"project":"p"}', '[["gr_1","bonus","250000"]]'),
      charge('ch_4', 900_001, null, '{}', '[]'),
    ],
    buckets: [
      '0/null/null/null/bonus=1500000',
      '0/null/null/null/paid=2000000',
      '900000/m1/p/null/bonus=250000',
    ],
  };
}

/** Account `a` with an empty journal, written in SQL for the migration tests (both dialects read it). */
export const ACCOUNT_A_INSERT =
  "INSERT INTO accounts (id, kind, timezone, status, metadata_json, ledger_sequence, ledger_head_hash, created_at_ms, updated_at_ms) VALUES ('a', 'user', 'UTC', 'active', '{}', 0, '', 0, 0)";

/** Reservations as a database before migration 23 holds them (columns of RESERVATIONS_BEFORE_KEYED_BY_TIME). */
export const RESERVATIONS_BEFORE_KEYED_BY_TIME =
  'account_id, id, operation, model, add_ons_json, member, status, amount_micros, price_version, allocations_json, usage_json, metadata_json, expires_at_ms, created_at_ms, resolved_at_ms, charge_id, api_key_id';
export function reservationsBeforeKeyedByTime(): unknown[][] {
  return [
    [
      'a',
      'rsv_b',
      'chat',
      null,
      '[]',
      null,
      'held',
      5_000_000,
      1,
      '[]',
      null,
      '{}',
      9_000,
      1_000,
      null,
      null,
      null,
    ],
    [
      'a',
      'rsv_a',
      'chat',
      'gpt-4o',
      '["web"]',
      'm1',
      'settled',
      3_000_000,
      1,
      '[["g1","bonus","3000000"]]',
      '{"input_tokens":"10"}',
      '{"project":"p"}',
      8_000,
      2_000,
      2_500,
      'ch_1',
      'key_1',
    ],
  ];
}
