/**
 * The SQLite schema, as an ordered list of migrations; `user_version` records how many ran.
 * Amounts are INTEGER micro-credits; CHECK constraints are a second line of defence behind
 * the domain's assertions.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'team')),
    timezone TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    metadata_json TEXT NOT NULL,
    ledger_sequence INTEGER NOT NULL CHECK (ledger_sequence >= 0),
    ledger_head_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE grants (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    amount_micros INTEGER NOT NULL CHECK (amount_micros > 0),
    remaining_micros INTEGER NOT NULL CHECK (remaining_micros >= 0 AND remaining_micros <= amount_micros),
    effective_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER,
    source TEXT NOT NULL,
    reason TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'expired', 'revoked')),
    allowed_operations_json TEXT,
    refund_of_charge_id TEXT,
    metadata_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    closed_at_ms INTEGER,
    closed_reason TEXT,
    PRIMARY KEY (account_id, id)
  ) STRICT;
  CREATE INDEX grants_open ON grants (account_id, status);
  CREATE INDEX grants_due ON grants (expires_at_ms) WHERE status = 'active' AND expires_at_ms IS NOT NULL;

  CREATE TABLE reservations (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    operation TEXT NOT NULL,
    model TEXT,
    add_ons_json TEXT NOT NULL,
    member TEXT,
    status TEXT NOT NULL CHECK (status IN ('held', 'settled', 'released', 'expired')),
    amount_micros INTEGER NOT NULL CHECK (amount_micros >= 0),
    price_version INTEGER NOT NULL,
    allocations_json TEXT NOT NULL,
    usage_json TEXT,
    metadata_json TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    resolved_at_ms INTEGER,
    charge_id TEXT,
    PRIMARY KEY (account_id, id)
  ) STRICT;
  CREATE INDEX reservations_held ON reservations (account_id) WHERE status = 'held';
  CREATE INDEX reservations_due ON reservations (expires_at_ms) WHERE status = 'held';

  CREATE TABLE charges (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    reservation_id TEXT,
    operation TEXT NOT NULL,
    model TEXT,
    add_ons_json TEXT NOT NULL,
    member TEXT,
    usage_json TEXT NOT NULL,
    credits_micros INTEGER NOT NULL CHECK (credits_micros >= 0),
    uncollected_micros INTEGER NOT NULL CHECK (uncollected_micros >= 0),
    allocations_json TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'rejected')),
    price_version INTEGER NOT NULL,
    metadata_json TEXT NOT NULL,
    refunded_micros INTEGER NOT NULL CHECK (refunded_micros >= 0 AND refunded_micros <= credits_micros),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
  ) STRICT;
  CREATE INDEX charges_by_time ON charges (account_id, created_at_ms);

  CREATE TABLE refunds (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    charge_id TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    amount_micros INTEGER NOT NULL CHECK (amount_micros > 0),
    reason TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
  ) STRICT;

  CREATE TABLE journal_transactions (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    sequence INTEGER NOT NULL CHECK (sequence > 0),
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    reference_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (account_id, sequence)
  ) STRICT;

  CREATE TABLE journal_entries (
    account_id TEXT NOT NULL,
    transaction_sequence INTEGER NOT NULL,
    line INTEGER NOT NULL,
    book TEXT NOT NULL CHECK (book IN ('grant', 'hold', 'issued', 'consumed', 'expired', 'revoked')),
    grant_id TEXT,
    reservation_id TEXT,
    amount_micros INTEGER NOT NULL CHECK (amount_micros <> 0),
    PRIMARY KEY (account_id, transaction_sequence, line),
    FOREIGN KEY (account_id, transaction_sequence) REFERENCES journal_transactions (account_id, sequence)
  ) STRICT;

  CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) STRICT;

  CREATE TABLE price_versions (
    version INTEGER PRIMARY KEY,
    effective_at_ms INTEGER NOT NULL,
    document_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  ) STRICT;

  -- Nothing posted is ever edited: the journal only grows. (tally verify still detects
  -- tampering by anyone who drops these triggers, through the hash chain.)
  CREATE TRIGGER journal_transactions_append_only_update BEFORE UPDATE ON journal_transactions
    BEGIN SELECT RAISE(ABORT, 'journal transactions are append-only'); END;
  CREATE TRIGGER journal_transactions_append_only_delete BEFORE DELETE ON journal_transactions
    BEGIN SELECT RAISE(ABORT, 'journal transactions are append-only'); END;
  CREATE TRIGGER journal_entries_append_only_update BEFORE UPDATE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;
  CREATE TRIGGER journal_entries_append_only_delete BEFORE DELETE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;
  `,
  `
  -- Secret API keys, stored as SHA-256 hashes; the secret itself is shown once, at creation.
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    secret_prefix TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('admin', 'write', 'read')),
    name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
  ) STRICT;

  -- Server-side secrets (the key that signs customer tokens), made on first use.
  CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  ) STRICT;
  `,
  `
  -- Events (SPEC C12): written in the same transaction as the change that caused them.
  ALTER TABLE accounts ADD COLUMN low_balance_threshold_micros INTEGER CHECK (low_balance_threshold_micros >= 0);
  -- Which balance alert was last raised, so balance.low fires once per crossing.
  ALTER TABLE accounts ADD COLUMN balance_alert TEXT NOT NULL DEFAULT 'none' CHECK (balance_alert IN ('none', 'low', 'depleted'));
  ALTER TABLE grants ADD COLUMN expiring_notified INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX grants_expiring ON grants (expires_at_ms) WHERE status = 'active' AND expiring_notified = 0;

  CREATE TABLE events (
    account_id TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    data_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    dispatched INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, id)
  ) STRICT;
  CREATE INDEX events_by_id ON events (id);
  CREATE INDEX events_undispatched ON events (id) WHERE dispatched = 0;

  CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    event_types_json TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    disabled_at_ms INTEGER
  ) STRICT;

  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    completed_at_ms INTEGER,
    UNIQUE (endpoint_id, event_id)
  ) STRICT;
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms) WHERE status = 'pending';

  -- The delivery log: one row per attempt.
  CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
  ) STRICT;
  `,
  `
  -- Allowances, plans, subscriptions and limits (SPEC C7, C8).
  ALTER TABLE grants ADD COLUMN allowance_id TEXT;
  ALTER TABLE grants ADD COLUMN period_start_ms INTEGER;
  ALTER TABLE grants ADD COLUMN requires_subscription INTEGER NOT NULL DEFAULT 0;
  -- One grant per allowance and period, whatever runs twice.
  CREATE UNIQUE INDEX grants_one_per_period ON grants (account_id, allowance_id, period_start_ms) WHERE allowance_id IS NOT NULL;
  -- The earliest instant at which scheduled work (an allowance period, a renewal) falls due.
  ALTER TABLE accounts ADD COLUMN schedule_due_at_ms INTEGER;
  CREATE INDEX accounts_schedule_due ON accounts (schedule_due_at_ms) WHERE schedule_due_at_ms IS NOT NULL;

  CREATE TABLE allowance_schedules (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    allowance_id TEXT NOT NULL,
    plan_id TEXT,
    anchor_ms INTEGER NOT NULL,
    next_period_start_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, allowance_id)
  ) STRICT;

  CREATE TABLE subscriptions (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    plan_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'canceled')),
    anchor_ms INTEGER NOT NULL,
    current_period_start_ms INTEGER NOT NULL,
    current_period_end_ms INTEGER NOT NULL,
    cancel_at_period_end INTEGER NOT NULL,
    pending_plan_id TEXT,
    overrides_json TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE account_limits (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL,
    limit_window TEXT NOT NULL CHECK (limit_window IN ('day', 'week', 'month', 'billing_cycle', 'rolling_24h')),
    max_micros INTEGER NOT NULL CHECK (max_micros >= 0),
    kinds_json TEXT,
    operations_json TEXT,
    member TEXT,
    project TEXT,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
  ) STRICT;

  -- The window in which limit.reached last fired, so it fires once per window.
  CREATE TABLE limit_states (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    limit_id TEXT NOT NULL,
    reached_window_start_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, limit_id)
  ) STRICT;
  `,
  `
  -- The API key a run was made with, for per-key budgets (limits scoped to an API key).
  ALTER TABLE reservations ADD COLUMN api_key_id TEXT;
  ALTER TABLE charges ADD COLUMN api_key_id TEXT;
  ALTER TABLE account_limits ADD COLUMN api_key_id TEXT;
  `,
  `
  -- Leases: a dispatcher claims a delivery until lease_until_ms; if it dies, another takes it after.
  ALTER TABLE webhook_deliveries ADD COLUMN lease_owner TEXT;
  ALTER TABLE webhook_deliveries ADD COLUMN lease_until_ms INTEGER;
  `,
  `
  -- The audit log (SPEC C13, §6): every operator action, written with the change it made.
  CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    account_id TEXT,
    details_json TEXT NOT NULL,
    at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX audit_log_by_account ON audit_log (account_id, id);
  `,
  `
  -- Due work reads only the lapsed holds of an account, not all of them (a hot account has many in flight).
  CREATE INDEX reservations_held_by_expiry ON reservations (account_id, expires_at_ms) WHERE status = 'held';
  DROP INDEX reservations_held;
  `,
  `
  -- Nothing for SQLite: PostgreSQL adds the function that checks deferred writes in the database
  -- (postgres/migrations.ts). SQLite runs each write at once and checks it in process.
  `,
  `
  -- Bumped by every command that locks the account (where processes remember accounts: PostgreSQL),
  -- so a process can tell whether the account is still as it left it (sql/account-memory.ts).
  ALTER TABLE accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- A journal transaction keeps its lines in its own row: entries_json holds [book, grant_id,
  -- reservation_id, amount] for each line, in line order, amounts as decimal strings (the tuples
  -- its hash covers). A movement is then one row and one key instead of one more per line: on the
  -- bench, E1 and H1 ran ~18 % faster (bench/README.md). journal_entries stays, as a view, for
  -- whoever reads the lines with SQL. (PostgreSQL's own text of this step: postgres/migrations.ts.)
  DROP TRIGGER journal_transactions_append_only_update;
  ALTER TABLE journal_transactions ADD COLUMN entries_json TEXT NOT NULL DEFAULT '[]';
  UPDATE journal_transactions SET entries_json = (
    SELECT json_group_array(
             json_array(line.book, line.grant_id, line.reservation_id, CAST(line.amount_micros AS TEXT))
             ORDER BY line.line)
    FROM journal_entries line
    WHERE line.account_id = journal_transactions.account_id
      AND line.transaction_sequence = journal_transactions.sequence);
  CREATE TRIGGER journal_transactions_append_only_update BEFORE UPDATE ON journal_transactions
    BEGIN SELECT RAISE(ABORT, 'journal transactions are append-only'); END;
  DROP TABLE journal_entries;
  CREATE VIEW journal_entries AS
    SELECT posted.account_id, posted.sequence AS transaction_sequence, CAST(line.key AS INTEGER) AS line,
           line.value ->> 0 AS book, line.value ->> 1 AS grant_id, line.value ->> 2 AS reservation_id,
           CAST(line.value ->> 3 AS INTEGER) AS amount_micros
    FROM journal_transactions posted, json_each(posted.entries_json) line;
  `,
  `
  -- A customer's own spending limits are records apart from the operator's (set_by): both apply,
  -- the tighter wins, and a customer can never overwrite a limit the operator set (issue 16).
  CREATE TABLE account_limits_by_setter (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    set_by TEXT NOT NULL CHECK (set_by IN ('operator', 'customer')),
    id TEXT NOT NULL,
    limit_window TEXT NOT NULL CHECK (limit_window IN ('day', 'week', 'month', 'billing_cycle', 'rolling_24h')),
    max_micros INTEGER NOT NULL CHECK (max_micros >= 0),
    kinds_json TEXT,
    operations_json TEXT,
    member TEXT,
    project TEXT,
    api_key_id TEXT,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, set_by, id)
  ) STRICT;
  INSERT INTO account_limits_by_setter (account_id, set_by, id, limit_window, max_micros, kinds_json,
      operations_json, member, project, api_key_id, updated_at_ms)
    SELECT account_id, 'operator', id, limit_window, max_micros, kinds_json, operations_json, member, project,
      api_key_id, updated_at_ms
    FROM account_limits;
  DROP TABLE account_limits;
  ALTER TABLE account_limits_by_setter RENAME TO account_limits;
  `,
  `
  -- Customer tokens are signed, not stored: revoking them records a time, per account or per
  -- minting key, before which every token of that account or key stops working.
  CREATE TABLE customer_token_revocations (
    scope TEXT NOT NULL CHECK (scope IN ('account', 'key')),
    subject TEXT NOT NULL,
    revoked_at_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)
  ) STRICT;
  `,
  `
  -- An account's reservations are listed a page at a time, newest first (GET …/reservations).
  CREATE INDEX reservations_by_creation ON reservations (account_id, created_at_ms, id);
  `,
  `
  -- The configuration the database was last opened with, so commands that only read (balance,
  -- charges, prices, verify) and a restarted server need none given again.
  CREATE TABLE stored_configuration (
    name TEXT PRIMARY KEY,
    document_json TEXT NOT NULL,
    source TEXT,
    stored_at_ms INTEGER NOT NULL
  ) STRICT;
  `,
  `
  -- Where a charge's usage came from, when Tally measured it (the metering proxy): reported by
  -- the model's provider, counted from what was streamed, or counted up to a client's disconnect.
  ALTER TABLE charges ADD COLUMN usage_source TEXT;
  `,
  `
  -- Keys an operator issues to an account's end user for the metering proxy: an OpenAI client
  -- uses one as its API key. Stored as hashes, like secret keys; they reach the proxy only.
  CREATE TABLE proxy_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    secret_prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
  ) STRICT;
  CREATE INDEX proxy_keys_by_account ON proxy_keys (account_id, id);
  `,
  `
  -- Purchases (SPEC C9). A purchase keeps the terms it was sold at (terms_json), so a changed
  -- configuration never reprices it. payment_id is unique: a provider's confirmation delivered
  -- twice, or by two processes at once, grants once.
  CREATE TABLE purchases (
    account_id TEXT NOT NULL,
    id TEXT PRIMARY KEY,
    pack_id TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    terms_json TEXT NOT NULL,
    credits_micros INTEGER NOT NULL CHECK (credits_micros > 0),
    bonus_micros INTEGER NOT NULL CHECK (bonus_micros >= 0),
    currency TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    provider TEXT NOT NULL CHECK (provider IN ('test', 'manual', 'stripe')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'refunded', 'partially_refunded')),
    auto_recharge INTEGER NOT NULL,
    checkout_session_id TEXT UNIQUE,
    checkout_url TEXT,
    payment_id TEXT UNIQUE,
    grant_id TEXT,
    bonus_grant_id TEXT,
    refunds_json TEXT NOT NULL,
    failure TEXT,
    reference TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    started_at_ms INTEGER,
    paid_at_ms INTEGER,
    expires_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX purchases_by_account ON purchases (account_id, created_at_ms, id);
  CREATE INDEX purchases_pending ON purchases (status, expires_at_ms);
  -- The provider-event inbox: every event once, by its id; a second body under one id is refused.
  CREATE TABLE provider_events (
    provider TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    purchase_id TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored', 'unmatched')),
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (provider, id)
  ) STRICT;
  CREATE INDEX provider_events_by_time ON provider_events (received_at_ms);
  CREATE TABLE auto_recharge_settings (
    account_id TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    threshold_micros INTEGER NOT NULL CHECK (threshold_micros > 0),
    pack_id TEXT,
    currency TEXT NOT NULL,
    monthly_max_micros INTEGER,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
    status_reason TEXT,
    in_flight_purchase_id TEXT,
    failures_in_row INTEGER NOT NULL,
    resume_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX auto_recharge_resuming ON auto_recharge_settings (resume_at_ms);
  -- Copied onto the account so that the settle that crosses it needs no read of its own.
  ALTER TABLE accounts ADD COLUMN auto_recharge_below_micros INTEGER;
  -- What the account owes: spent credits of a refunded purchase (refund policy debt).
  ALTER TABLE accounts ADD COLUMN debt_micros INTEGER NOT NULL DEFAULT 0 CHECK (debt_micros >= 0);
  `,
  `
  -- Creator revenue share (SPEC C10). A charge of a run on someone else's prompt or app names its
  -- creator, the basis, the share booked to them and what refunds have taken back of it. The
  -- earnings of a creator are read from these columns (charges_by_creator), under their lock
  -- when a payout is bounded by them.
  ALTER TABLE charges ADD COLUMN creator_account_id TEXT;
  ALTER TABLE charges ADD COLUMN creator_basis TEXT CHECK (creator_basis IN ('cost', 'premium'));
  ALTER TABLE charges ADD COLUMN creator_micros INTEGER NOT NULL DEFAULT 0 CHECK (creator_micros >= 0);
  ALTER TABLE charges ADD COLUMN creator_reversed_micros INTEGER NOT NULL DEFAULT 0
    CHECK (creator_reversed_micros >= 0 AND creator_reversed_micros <= creator_micros);
  CREATE INDEX charges_by_creator ON charges (creator_account_id, created_at_ms) WHERE creator_account_id IS NOT NULL;
  -- What was paid out to a creator; earned_before_ms is the hold's edge the payout was bounded by.
  CREATE TABLE creator_payouts (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    amount_micros INTEGER NOT NULL CHECK (amount_micros > 0),
    currency TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    paid_as TEXT NOT NULL CHECK (paid_as IN ('money', 'credits')),
    grant_id TEXT,
    reference TEXT,
    earned_before_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
  ) STRICT;
  CREATE INDEX creator_payouts_by_time ON creator_payouts (account_id, created_at_ms);
  `,
  `
  -- Team members (SPEC C11): user accounts that spend from a team account's pool. Their own
  -- limits are the team's account limits scoped to them (account_limits.member), so they are
  -- checked in the transaction that draws from the pool, like every limit.
  CREATE TABLE team_members (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    member_id TEXT NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, member_id)
  ) STRICT;
  CREATE INDEX team_members_by_member ON team_members (member_id);
  `,
  `
  -- Compensations (SPEC C13): credits restored as one non-expiring grant, linked to the charges
  -- they make good (parts_json: [[charge_id, micros]]). What a charge had back, by refund or
  -- compensation, is its refunded_micros, which never passes its credits.
  CREATE TABLE compensations (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    grant_id TEXT NOT NULL,
    amount_micros INTEGER NOT NULL CHECK (amount_micros > 0),
    parts_json TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
  ) STRICT;
  -- Platform incidents an operator recorded: runs inside the window (of the operations named,
  -- or of all) are flagged by thread review.
  CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL CHECK (to_ms > from_ms),
    operations_json TEXT,
    note TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX incidents_by_time ON incidents (from_ms);
  `,
  `
  -- Spend per quarter hour (SPEC C8): what an account's charges spent, per scope (operation,
  -- member, project, API key; '' for none) and grant kind. Limits sum these over their window
  -- instead of reading every charge in it; the charge's insert keeps them, in its transaction.
  -- Existing charges are summed in here.
  CREATE TABLE spend_buckets (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    start_ms INTEGER NOT NULL,
    operation TEXT NOT NULL,
    member TEXT NOT NULL,
    project TEXT NOT NULL,
    api_key_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    spent_micros INTEGER NOT NULL CHECK (spent_micros > 0),
    PRIMARY KEY (account_id, start_ms, operation, member, project, api_key_id, kind)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO spend_buckets (account_id, start_ms, operation, member, project, api_key_id, kind, spent_micros)
    SELECT charges.account_id, (charges.created_at_ms / 900000) * 900000, charges.operation,
           coalesce(charges.member, ''), coalesce(json_extract(charges.metadata_json, '$.project'), ''),
           coalesce(charges.api_key_id, ''), json_extract(part.value, '$[1]'),
           sum(CAST(json_extract(part.value, '$[2]') AS INTEGER))
    FROM charges, json_each(charges.allocations_json) AS part
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(CAST(json_extract(part.value, '$[2]') AS INTEGER)) > 0;
  `,
  `
  -- Charges and reservations are keyed by (account, time, id), not (account, id): the key is then
  -- also the order an account's history is listed in, so the (account, time) index each had is
  -- gone. Each row written lands on one B-tree of account-ordered leaves fewer (lookups by id
  -- use the unique id, which ULIDs append to): on a database holding 1,000,000 charges, E1's
  -- workload ran 9–15 % faster (bench/README.md, G1). SQLite cannot change a table's key in
  -- place, so both tables are rebuilt.
  CREATE TABLE charges_keyed (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    reservation_id TEXT,
    operation TEXT NOT NULL,
    model TEXT,
    add_ons_json TEXT NOT NULL,
    member TEXT,
    usage_json TEXT NOT NULL,
    credits_micros INTEGER NOT NULL CHECK (credits_micros >= 0),
    uncollected_micros INTEGER NOT NULL CHECK (uncollected_micros >= 0),
    allocations_json TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'rejected')),
    price_version INTEGER NOT NULL,
    metadata_json TEXT NOT NULL,
    refunded_micros INTEGER NOT NULL CHECK (refunded_micros >= 0 AND refunded_micros <= credits_micros),
    created_at_ms INTEGER NOT NULL,
    api_key_id TEXT,
    usage_source TEXT,
    creator_account_id TEXT,
    creator_basis TEXT CHECK (creator_basis IN ('cost', 'premium')),
    creator_micros INTEGER NOT NULL DEFAULT 0 CHECK (creator_micros >= 0),
    creator_reversed_micros INTEGER NOT NULL DEFAULT 0
      CHECK (creator_reversed_micros >= 0 AND creator_reversed_micros <= creator_micros),
    PRIMARY KEY (account_id, created_at_ms, id)
  ) STRICT;
  INSERT INTO charges_keyed (account_id, id, reservation_id, operation, model, add_ons_json, member, usage_json,
      credits_micros, uncollected_micros, allocations_json, outcome, price_version, metadata_json, refunded_micros,
      created_at_ms, api_key_id, usage_source, creator_account_id, creator_basis, creator_micros, creator_reversed_micros)
    SELECT account_id, id, reservation_id, operation, model, add_ons_json, member, usage_json,
      credits_micros, uncollected_micros, allocations_json, outcome, price_version, metadata_json, refunded_micros,
      created_at_ms, api_key_id, usage_source, creator_account_id, creator_basis, creator_micros, creator_reversed_micros
    FROM charges;
  DROP TABLE charges;
  ALTER TABLE charges_keyed RENAME TO charges;
  CREATE INDEX charges_by_creator ON charges (creator_account_id, created_at_ms) WHERE creator_account_id IS NOT NULL;

  CREATE TABLE reservations_keyed (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL UNIQUE,
    operation TEXT NOT NULL,
    model TEXT,
    add_ons_json TEXT NOT NULL,
    member TEXT,
    status TEXT NOT NULL CHECK (status IN ('held', 'settled', 'released', 'expired')),
    amount_micros INTEGER NOT NULL CHECK (amount_micros >= 0),
    price_version INTEGER NOT NULL,
    allocations_json TEXT NOT NULL,
    usage_json TEXT,
    metadata_json TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    resolved_at_ms INTEGER,
    charge_id TEXT,
    api_key_id TEXT,
    PRIMARY KEY (account_id, created_at_ms, id)
  ) STRICT;
  INSERT INTO reservations_keyed (account_id, id, operation, model, add_ons_json, member, status, amount_micros,
      price_version, allocations_json, usage_json, metadata_json, expires_at_ms, created_at_ms, resolved_at_ms,
      charge_id, api_key_id)
    SELECT account_id, id, operation, model, add_ons_json, member, status, amount_micros,
      price_version, allocations_json, usage_json, metadata_json, expires_at_ms, created_at_ms, resolved_at_ms,
      charge_id, api_key_id
    FROM reservations;
  DROP TABLE reservations;
  ALTER TABLE reservations_keyed RENAME TO reservations;
  CREATE INDEX reservations_due ON reservations (expires_at_ms) WHERE status = 'held';
  CREATE INDEX reservations_held_by_expiry ON reservations (account_id, expires_at_ms) WHERE status = 'held';
  `,
];
