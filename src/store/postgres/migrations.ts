/**
 * The PostgreSQL schema is SQLite's (sqlite/migrations.ts), step for step, translated here with
 * the few differences written as data — so the two can never drift apart:
 *
 * - every INTEGER is a BIGINT (micro-credits and milliseconds need 64 bits; SQLite's are 64 already);
 * - tables are not `STRICT` (PostgreSQL is always strict about types);
 * - the append-only guard of the journal is a PL/pgSQL trigger function instead of SQLite's RAISE;
 * - a few additions only PostgreSQL needs run with the SQLite migration of the same number;
 * - a step that moves data with JSON functions, which the two spell differently, is written out
 *   for PostgreSQL in full (POSTGRES_INSTEAD).
 *
 * Every customer-side table leads its primary key with the account id, so it can be partitioned
 * or distributed by account.
 */
import { migrations as sqlite_migrations } from '../sqlite/migrations.ts';

const SQLITE_APPEND_ONLY_TRIGGERS =
  /\n\s*CREATE TRIGGER journal_\w+_append_only_\w+ BEFORE \w+ ON journal_\w+\s*\n\s*BEGIN SELECT RAISE\(ABORT, '[^']*'\); END;/g;

const POSTGRES_APPEND_ONLY = `
  CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
  END;
  $$;
  CREATE TRIGGER journal_transactions_append_only BEFORE UPDATE OR DELETE ON journal_transactions
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();
  CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();`;

/** SQLSTATE of a deferred write's failed check: a bug, reported like a failed assertion. */
export const CHANGES_UNEXPECTED = 'TL001';
/** SQLSTATE of a failed check that a remembered account is current: the transaction runs again. */
export const REMEMBERED_ACCOUNT_OUTDATED = 'TL002';
/** SQLSTATE of a failed claim of an idempotency key another command committed first. */
export const IDEMPOTENCY_KEY_TAKEN = 'TL003';

/** By migration number (from 1): what PostgreSQL needs beyond the translated SQLite migration. */
const POSTGRES_ONLY: Readonly<Record<number, string>> = {
  // Writes travel with a later round trip (postgres-store.ts), so their row counts are checked in the database.
  9: `
  CREATE FUNCTION tally_expect_changes(
    changed BIGINT, expected BIGINT, failure TEXT, sqlstate TEXT DEFAULT '${CHANGES_UNEXPECTED}')
  RETURNS BIGINT LANGUAGE plpgsql AS $$
  BEGIN
    IF changed <> expected THEN
      RAISE EXCEPTION USING ERRCODE = sqlstate,
        MESSAGE = format('%s (%s rows changed, %s expected)', failure, changed, expected);
    END IF;
    RETURN changed;
  END;
  $$;`,
};

/** By migration number (from 1): PostgreSQL's own text of a step, run instead of the translation. */
const POSTGRES_INSTEAD: Readonly<Record<number, string>> = {
  22: `
  CREATE TABLE spend_buckets (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    start_ms BIGINT NOT NULL,
    operation TEXT NOT NULL,
    member TEXT NOT NULL,
    project TEXT NOT NULL,
    api_key_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    spent_micros BIGINT NOT NULL CHECK (spent_micros > 0),
    PRIMARY KEY (account_id, start_ms, operation, member, project, api_key_id, kind)
  );
  INSERT INTO spend_buckets (account_id, start_ms, operation, member, project, api_key_id, kind, spent_micros)
    SELECT charges.account_id, (charges.created_at_ms / 900000) * 900000, charges.operation,
           coalesce(charges.member, ''), coalesce(CAST(charges.metadata_json AS jsonb) ->> 'project', ''),
           coalesce(charges.api_key_id, ''), part.value ->> 1, sum(CAST(part.value ->> 2 AS BIGINT))
    FROM charges, jsonb_array_elements(CAST(charges.allocations_json AS jsonb)) AS part (value)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(CAST(part.value ->> 2 AS BIGINT)) > 0;
  `,
  11: `
  ALTER TABLE journal_transactions DISABLE TRIGGER journal_transactions_append_only;
  ALTER TABLE journal_transactions ADD COLUMN entries_json TEXT NOT NULL DEFAULT '[]';
  UPDATE journal_transactions SET entries_json = coalesce((
    SELECT CAST(json_agg(
             json_build_array(line.book, line.grant_id, line.reservation_id, CAST(line.amount_micros AS TEXT))
             ORDER BY line.line) AS TEXT)
    FROM journal_entries line
    WHERE line.account_id = journal_transactions.account_id
      AND line.transaction_sequence = journal_transactions.sequence), '[]');
  ALTER TABLE journal_transactions ENABLE TRIGGER journal_transactions_append_only;
  DROP TABLE journal_entries;
  CREATE VIEW journal_entries AS
    SELECT posted.account_id, posted.sequence AS transaction_sequence, CAST(line.ordinality - 1 AS BIGINT) AS line,
           line.value ->> 0 AS book, line.value ->> 1 AS grant_id, line.value ->> 2 AS reservation_id,
           CAST(line.value ->> 3 AS BIGINT) AS amount_micros
    FROM journal_transactions posted,
         jsonb_array_elements(CAST(posted.entries_json AS jsonb)) WITH ORDINALITY AS line (value, ordinality);
  `,
  // PostgreSQL changes a table's key in place; the (account, time) indexes the new keys replace go.
  23: `
  ALTER TABLE charges DROP CONSTRAINT charges_pkey, ADD PRIMARY KEY (account_id, created_at_ms, id);
  DROP INDEX charges_by_time;
  ALTER TABLE reservations DROP CONSTRAINT reservations_pkey, ADD PRIMARY KEY (account_id, created_at_ms, id);
  DROP INDEX reservations_by_creation;
  `,
};

export function toPostgres(sql: string): string {
  let triggers_replaced = false;
  return sql
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\)\s*STRICT;/g, ');')
    .replace(SQLITE_APPEND_ONLY_TRIGGERS, () => {
      if (triggers_replaced) return '';
      triggers_replaced = true;
      return POSTGRES_APPEND_ONLY;
    });
}

export const migrations: readonly string[] = sqlite_migrations.map(
  (sql, index) => (POSTGRES_INSTEAD[index + 1] ?? toPostgres(sql)) + (POSTGRES_ONLY[index + 1] ?? ''),
);
