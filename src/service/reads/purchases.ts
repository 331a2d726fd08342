/** Reads of packs, purchases, auto-recharge settings and the provider-event inbox (SPEC C9). */
import { periodContaining } from '../../domain/calendar.ts';
import { formatDecimal } from '../../domain/decimal.ts';
import { MICROS_PER_CREDIT } from '../../domain/limits.ts';
import { moneyFor } from '../../domain/money.ts';
import { TallyError } from '../../domain/results.ts';
import type { PurchaseRow, PurchaseStatus, StoreTransaction } from '../../store/store.ts';
import {
  type AutoRechargeView,
  autoRechargeView,
  type PackListView,
  type ProviderEventView,
  type PurchaseView,
  packListView,
  providerEventView,
  purchaseView,
} from '../payments/views.ts';
import { type Page, pageOf, pageSize } from './page.ts';
import type { ReadContext } from './reads.ts';

/** The packs on sale, with unit prices and discounts; public, like the prices. */
export async function listPacks(context: ReadContext): Promise<PackListView> {
  const book = await context.store.read((transaction) =>
    context.price_books.inForceAt(transaction, context.clock.now_ms()),
  );
  return packListView(context.config, {
    currency: book.credit_value.currency,
    amount_minor_per_credit: formatDecimal(book.credit_value.amount_minor_per_credit),
    amount_per_credit: moneyFor(MICROS_PER_CREDIT, book.credit_value).amount,
  });
}

async function viewOf(
  context: ReadContext,
  transaction: StoreTransaction,
  row: PurchaseRow,
): Promise<PurchaseView> {
  const grantOf = (id: string | null) => (id === null ? undefined : transaction.getGrant(id));
  return purchaseView(
    row,
    { grant: await grantOf(row.grant_id), bonus: await grantOf(row.bonus_grant_id) },
    context.clock.now_ms(),
  );
}

export async function getPurchase(context: ReadContext, id: string): Promise<PurchaseView> {
  return context.store.read(async (transaction) => {
    const row = await transaction.getPurchase(id);
    if (!row) throw new TallyError('purchase_not_found', `no purchase ${id}`);
    return viewOf(context, transaction, row);
  });
}

/** One account's purchases, newest first; or every account's (the console) when `account` is unset. */
export async function listPurchases(
  context: ReadContext,
  query: {
    account?: string | undefined;
    cursor?: string | undefined;
    limit?: number | undefined;
    status?: PurchaseStatus | undefined;
  },
): Promise<Page<PurchaseView>> {
  const limit = pageSize(query.limit);
  return context.store.read(async (transaction) => {
    if (query.account !== undefined && !(await transaction.getAccount(query.account)))
      throw new TallyError('account_not_found', `no account ${query.account}`);
    const rows =
      query.account === undefined
        ? await transaction.listAllPurchases({ before: query.cursor, limit: limit + 1, status: query.status })
        : await transaction.listPurchases(query.account, { before: query.cursor, limit: limit + 1 });
    const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
    const data: PurchaseView[] = [];
    for (const row of page) data.push(await viewOf(context, transaction, row));
    return { data, next_cursor };
  });
}

/** An account's auto-recharge settings (off, with no threshold, until they are set). */
export async function getAutoRecharge(
  context: ReadContext,
  account_id: string,
): Promise<AutoRechargeView | null> {
  return context.store.read(async (transaction) => {
    const account = await transaction.getAccount(account_id);
    if (!account) throw new TallyError('account_not_found', `no account ${account_id}`);
    const settings = await transaction.getAutoRecharge(account_id);
    if (!settings) return null;
    const month = periodContaining(context.clock.now_ms(), 'monthly', account.timezone);
    return autoRechargeView(settings, await transaction.sumAutoRechargeMicros(account_id, month.start_ms));
  });
}

export async function listProviderEvents(context: ReadContext, limit?: number): Promise<ProviderEventView[]> {
  const rows = await context.store.read((transaction) =>
    transaction.listProviderEvents({ limit: pageSize(limit) }),
  );
  return rows.map(providerEventView);
}
