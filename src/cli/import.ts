/**
 * `tally import FILE`: brings a configuration into a database — its price book as a new version
 * when it differs from the one in force, and any `accounts:` with their grants. Every write
 * carries an idempotency key derived from the file, so importing the same file twice changes
 * nothing the second time.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compilePriceBook, priceBookDocument } from '../schema/config.ts';
import { canonicalJson } from '../service/idempotency.ts';
import { type PriceTableView, priceTableView } from '../service/price-table.ts';
import type { Tally } from '../service/tally.ts';
import { startProgress } from './progress.ts';

const importSchema = z.looseObject({
  credit_value: z.unknown().optional(),
  price_book: z.unknown().optional(),
  accounts: z
    .array(
      z.looseObject({
        id: z.string(),
        kind: z.enum(['user', 'team']).default('user'),
        timezone: z.string().optional(),
        low_balance_threshold: z.union([z.string(), z.number()]).optional(),
        grants: z.array(z.record(z.string(), z.unknown())).default([]),
      }),
    )
    .default([]),
});

export interface ImportReport {
  price_version: number | null;
  accounts: number;
  grants: number;
}

export async function importConfiguration(tally: Tally, file: string): Promise<ImportReport> {
  const text = readFileSync(file, 'utf8');
  const content = importSchema.parse(parseYaml(text));
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const report: ImportReport = { price_version: null, accounts: 0, grants: 0 };

  if (content.price_book !== undefined) {
    const in_force = await tally.priceTable();
    const {
      version: _version,
      effective_at: _effective_at,
      ...book
    } = content.price_book as Record<string, unknown>;
    // A configuration file gives its credit value beside the price book.
    book.credit_value ??= content.credit_value;
    const proposed = priceTableView(
      compilePriceBook(
        priceBookDocument(book, {
          version: in_force.version + 1,
          effective_at: new Date().toISOString(),
          credit_value: {
            currency: in_force.credit_value.currency,
            amount_minor_per_credit: in_force.credit_value.amount_minor_per_credit,
          },
        }),
      ),
    );
    // Publish only when the prices or the credit value differ from the version in force. The
    // stored version lists operations and models in key order (it is kept as canonical JSON),
    // the file in its own: compare them by id, not by position (and leave out the example cost,
    // which prices the first model of each and so follows that order too, as does the creator
    // share's example).
    const byId = <Item extends { id: string }>(items: readonly Item[]) =>
      [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const comparable = (table: PriceTableView) =>
      canonicalJson({
        credit_value: table.credit_value,
        operations: byId(table.operations).map(({ example_cost: _example, creator_share, ...operation }) => ({
          ...operation,
          creator_share: creator_share && { basis: creator_share.basis, rate: creator_share.rate },
          models: byId(operation.models),
        })),
      });
    if (comparable(proposed) !== comparable(in_force)) {
      report.price_version = (
        await tally.publishPriceBook(book as never, { idempotency_key: `import:${digest}:price_book` })
      ).version;
    }
  }

  const progress = startProgress('importing accounts', content.accounts.length);
  for (const account of content.accounts) {
    const { grants, ...fields } = account;
    await tally.putAccount(fields as never);
    for (const [index, grant] of grants.entries()) {
      await tally.issueGrant({ ...grant, account: account.id } as never, {
        idempotency_key: `import:${digest}:${account.id}:${index}`,
      });
      report.grants++;
    }
    report.accounts++;
    progress.tick();
  }
  progress.stop();
  return report;
}
