import { expect, it } from 'vitest';
import { migrations as sqlite_migrations } from '../sqlite/migrations.ts';
import { migrations } from './migrations.ts';

it('translates every SQLite migration: 64-bit integers, no STRICT, the journal guard as a trigger function', () => {
  expect(migrations).toHaveLength(sqlite_migrations.length);
  const all = migrations.join('\n');
  expect(all).not.toMatch(/\bINTEGER\b|STRICT|RAISE\(ABORT/);
  expect(all.match(/CREATE FUNCTION journal_append_only/g)).toHaveLength(1);
  expect(all).toMatch(
    /CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries/,
  );
  expect(migrations[8]).toMatch(/CREATE FUNCTION tally_expect_changes/);
  expect(migrations[0]).toMatch(/amount_micros BIGINT NOT NULL CHECK \(amount_micros > 0\)/);
});
