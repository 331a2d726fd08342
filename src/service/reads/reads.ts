import type { z } from 'zod';
import { computeBalance } from '../../domain/balance.ts';
import { formatCredits } from '../../domain/credits.ts';
import { PAGE_SIZE_MAX } from '../../domain/limits.ts';
import { TallyError } from '../../domain/results.ts';
import type { auditAnswer, balanceAnswer } from '../../schema/answers.ts';
import {
  type EstimateInput,
  estimateInput,
  type ListChargesInput,
  listChargesInput,
  listEventsInput,
  type UsageInput,
  usageInput,
} from '../../schema/commands.ts';
import type { TallyConfig } from '../../schema/config.ts';
import { parseInput } from '../../schema/parse.ts';
import type { ChargeRow, Store, StoreTransaction } from '../../store/store.ts';
import { AccountSession, finishSessions, type SessionEnvironment } from '../account-session.ts';
import type { Clock } from '../clock.ts';
import { creatorOf, operationOf } from '../commands/runs.ts';
import {
  buildEstimate,
  buildRemaining,
  type EstimateView,
  loadSnapshot,
  type RemainingView,
} from '../estimates.ts';
import {
  allCharges,
  chargeFilter,
  decodeCursor,
  encodeCursor,
  summarizeUsage,
  type UsageView,
} from '../history.ts';
import { type LimitView, limitStatuses, limitView } from '../limits.ts';
import { type PlanView, planView } from '../plan-view.ts';
import type { PriceBooks } from '../price-books.ts';
import { type PriceTableView, priceTableView } from '../price-table.ts';
import { type SubscriptionView, subscriptionView } from '../subscriptions.ts';
import { checkTeamMember } from '../teams.ts';
import {
  type AccountView,
  accountView,
  type ChargeView,
  chargeView,
  type GrantView,
  grantView,
  isoTime,
  type ReservationView,
  reservationView,
} from '../views.ts';
import { type EventView, eventView } from '../webhooks.ts';
import { decodeNumberCursor, type Page, pageOf, pageSize } from './page.ts';

export type AuditView = z.infer<typeof auditAnswer>;

export type BalanceView = z.infer<typeof balanceAnswer>;

/** What reads use of the engine. */
export interface ReadContext {
  readonly store: Store;
  readonly config: TallyConfig;
  readonly clock: Clock;
  readonly price_books: PriceBooks;
  environment(now_ms: number): SessionEnvironment;
}

export async function listAudit(
  context: ReadContext,
  query: {
    account?: string;
    cursor?: string;
    limit?: number;
  },
): Promise<{ data: AuditView[]; next_cursor: string | null }> {
  const limit = pageSize(query.limit);
  const rows = await context.store.read((transaction) =>
    transaction.listAudit({ account_id: query.account, before: query.cursor }, limit + 1),
  );
  const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
  return {
    data: page.map((row) => ({
      id: row.id,
      actor: row.actor,
      action: row.action,
      account: row.account_id,
      details: row.details,
      at: isoTime(row.at_ms),
    })),
    next_cursor,
  };
}

/** Accounts whose id starts with `prefix`, in id order. */
export async function searchAccounts(
  context: ReadContext,
  query: {
    prefix?: string;
    cursor?: string;
    limit?: number;
  },
): Promise<{ data: AccountView[]; next_cursor: string | null }> {
  const limit = pageSize(query.limit);
  const rows = await context.store.read((transaction) =>
    transaction.searchAccounts(query.prefix ?? '', query.cursor ?? null, limit + 1),
  );
  const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
  return { data: page.map(accountView), next_cursor };
}

/** An account's reservations, newest first, a page at a time (paged in the store). */
export async function listReservations(
  context: ReadContext,
  account_id: string,
  query: { limit?: number; cursor?: string } = {},
): Promise<{ data: ReservationView[]; next_cursor: string | null }> {
  const limit = pageSize(query.limit);
  return context.store.read(async (transaction) => {
    await existingAccount(transaction, account_id);
    const rows = await transaction.listReservationPage(account_id, {
      limit: limit + 1,
      before: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const { page, next_cursor } = pageOf(rows, limit, encodeCursor);
    const now_ms = context.clock.now_ms();
    const data: ReservationView[] = [];
    for (const row of page)
      data.push(
        reservationView(
          row,
          (await context.price_books.get(transaction, row.price_version)).credit_value,
          now_ms,
        ),
      );
    return { data, next_cursor };
  });
}

/** Price book versions in order, a page at a time. */
export async function listPriceVersions(
  context: ReadContext,
  query: { cursor?: string; limit?: number } = {},
): Promise<Page<{ version: number; effective_at: string; published_at: string }>> {
  const limit = pageSize(query.limit);
  const rows = await context.store.read((transaction) =>
    transaction.listPriceVersions({ after_version: decodeNumberCursor(query.cursor), limit: limit + 1 }),
  );
  const { page, next_cursor } = pageOf(rows, limit, (row) => String(row.version));
  return {
    next_cursor,
    data: page.map((row) => ({
      version: row.version,
      effective_at: isoTime(row.effective_at_ms),
      published_at: isoTime(row.created_at_ms),
    })),
  };
}

// ── Accounts ────────────────────────────────────────────────────────────────────────────

export async function getAccount(
  context: ReadContext,
  id: string,
): Promise<AccountView & { subscription: SubscriptionView | null }> {
  await refreshIfDue(context, id);
  return context.store.read(async (transaction) => {
    const account = await existingAccount(transaction, id);
    const subscription = await transaction.getSubscription(id);
    return { ...accountView(account), subscription: subscription ? subscriptionView(subscription) : null };
  });
}

// ── Plans, subscriptions and limits ────────────────────────────────────────────────────

export function listPlans(context: ReadContext): PlanView[] {
  return [...context.config.plans.values()].sort((a, b) => a.rank - b.rank).map(planView);
}

export async function getSubscription(
  context: ReadContext,
  account_id: string,
): Promise<SubscriptionView | null> {
  await refreshIfDue(context, account_id);
  return context.store.read(async (transaction) => {
    await existingAccount(transaction, account_id);
    const row = await transaction.getSubscription(account_id);
    return row ? subscriptionView(row) : null;
  });
}

export async function listLimits(context: ReadContext, account_id: string): Promise<LimitView[]> {
  await refreshIfDue(context, account_id);
  return context.store.read(async (transaction) => {
    const account = await existingAccount(transaction, account_id);
    const subscription = await transaction.getSubscription(account_id);
    const account_limits = await transaction.listAccountLimits(account_id);
    const now_ms = context.clock.now_ms();
    return (
      await limitStatuses(transaction, context.config, account, subscription, account_limits, now_ms)
    ).map(limitView);
  });
}

/**
 * Reads are exact at any instant: when scheduled work (an allowance period, a renewal) has
 * fallen due and no job has run it yet, it is run first.
 */
export async function refreshIfDue(context: ReadContext, account_id: string): Promise<void> {
  const now_ms = context.clock.now_ms();
  const account = await context.store.read((transaction) => transaction.getAccount(account_id));
  if (!account || account.schedule_due_at_ms === null || account.schedule_due_at_ms > now_ms) return;
  await context.store.transaction(async (transaction) => {
    await AccountSession.open(transaction, account_id, context.environment(now_ms));
    await finishSessions(transaction);
  });
}

// ── Grants ──────────────────────────────────────────────────────────────────────────────

/** Every grant of an account, open and closed, in creation order (the library's; HTTP pages them). */
export async function listGrants(context: ReadContext, account_id: string): Promise<GrantView[]> {
  const grants: GrantView[] = [];
  for (let cursor: string | undefined; ; ) {
    const page = await listGrantPage(context, account_id, { cursor, limit: PAGE_SIZE_MAX });
    grants.push(...page.data);
    if (page.next_cursor === null) return grants;
    cursor = page.next_cursor;
  }
}

/** An account's grants in creation order, a page at a time (paged in the store), optionally in one state. */
export async function listGrantPage(
  context: ReadContext,
  account_id: string,
  query: { status?: 'pending' | 'active' | 'expired' | 'revoked'; cursor?: string; limit?: number } = {},
): Promise<{ data: GrantView[]; next_cursor: string | null }> {
  const limit = pageSize(query.limit);
  await refreshIfDue(context, account_id);
  return context.store.read(async (transaction) => {
    const now_ms = context.clock.now_ms();
    await existingAccount(transaction, account_id);
    const rows = await transaction.listGrantPage(account_id, {
      limit: limit + 1,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      state: query.status,
      now_ms,
    });
    const { page, next_cursor } = pageOf(rows, limit, encodeCursor);
    // What each grant has usable now: held credits of lapsed reservations count as back (domain/balance.ts).
    const held = await transaction.listHeldReservations(account_id);
    const subscription = await transaction.getSubscription(account_id);
    const balance = computeBalance(
      page,
      held,
      context.config.kinds,
      now_ms,
      subscription?.status === 'active',
    );
    return {
      data: page.map((grant) =>
        grantView(grant, now_ms, balance.grants.get(grant.id)?.available_micros ?? grant.remaining_micros),
      ),
      next_cursor,
    };
  });
}

// ── Balance ─────────────────────────────────────────────────────────────────────────────

/** The balance at this instant: exact whether or not due work has been booked. */
export async function getBalance(context: ReadContext, account_id: string): Promise<BalanceView> {
  await refreshIfDue(context, account_id);
  return context.store.read(async (transaction) => {
    const now_ms = context.clock.now_ms();
    const account = await existingAccount(transaction, account_id);
    // Open grants (at most OPEN_GRANTS_PER_ACCOUNT_MAX), and closed ones only while a held
    // reservation still holds their credits: an account gathers closed grants without end (one
    // per daily allowance), and they are paged at …/grants.
    const grants = await transaction.listOpenGrants(account_id);
    const held = await transaction.listHeldReservations(account_id);
    const listed = new Set(grants.map((grant) => grant.id));
    for (const reservation of held)
      for (const { grant_id } of reservation.allocations) {
        if (listed.has(grant_id)) continue;
        listed.add(grant_id);
        const closed = await transaction.getGrant(grant_id);
        if (closed) grants.push(closed);
      }
    const subscription = await transaction.getSubscription(account_id);
    const balance = computeBalance(
      grants,
      held,
      context.config.kinds,
      now_ms,
      subscription?.status === 'active',
    );
    const account_limits = await transaction.listAccountLimits(account_id);
    const limits = await limitStatuses(
      transaction,
      context.config,
      account,
      subscription,
      account_limits,
      now_ms,
    );
    const by_kind: BalanceView['by_kind'] = {};
    for (const [kind, amounts] of balance.by_kind) {
      by_kind[kind] = {
        available: formatCredits(amounts.available_micros),
        held: formatCredits(amounts.held_micros),
        unusable: formatCredits(amounts.unusable_micros),
      };
    }
    return {
      account: account_id,
      available: formatCredits(balance.available_micros),
      held: formatCredits(balance.held_micros),
      by_kind,
      grants: grants.map((grant) =>
        grantView(grant, now_ms, balance.grants.get(grant.id)?.available_micros ?? grant.remaining_micros),
      ),
      limits: limits.map(limitView),
      next_expiry: balance.next_expiry && {
        amount: formatCredits(balance.next_expiry.amount_micros),
        at: isoTime(balance.next_expiry.at_ms),
      },
    };
  });
}

// ── Reservations and charges ────────────────────────────────────────────────────────────

export async function getReservation(context: ReadContext, id: string): Promise<ReservationView> {
  return context.store.read(async (transaction) => {
    const reservation = await transaction.getReservation(id);
    if (!reservation) throw new TallyError('reservation_not_found', `no reservation ${id}`);
    const book = await context.price_books.get(transaction, reservation.price_version);
    return reservationView(reservation, book.credit_value, context.clock.now_ms());
  });
}

export async function getCharge(context: ReadContext, id: string): Promise<ChargeView> {
  return context.store.read(async (transaction) => {
    const charge = await transaction.getCharge(id);
    if (!charge) throw new TallyError('charge_not_found', `no charge ${id}`);
    const book = await context.price_books.get(transaction, charge.price_version);
    return chargeView(charge, book.credit_value);
  });
}

// ── History ─────────────────────────────────────────────────────────────────────────────

/** An account's charges, newest first, filtered, one page at a time. */
export async function listCharges(
  context: ReadContext,
  input: ListChargesInput,
): Promise<{ data: ChargeView[]; next_cursor: string | null }> {
  const query = parseInput(listChargesInput, input);
  const after = decodeCursor(query.cursor);
  return context.store.read(async (transaction) => {
    await existingAccount(transaction, query.account);
    const rows = await transaction.listCharges(chargeFilter(query), { limit: query.limit + 1, after });
    const { page, next_cursor } = pageOf(rows, query.limit, encodeCursor);
    return {
      data: await chargeViews(context, transaction, page),
      next_cursor,
    };
  });
}

/** Every charge matching a filter (for exports), newest first; refused beyond HISTORY_ROWS_MAX rows. */
export async function exportCharges(
  context: ReadContext,
  input: Omit<ListChargesInput, 'limit' | 'cursor'>,
): Promise<ChargeView[]> {
  const query = parseInput(listChargesInput, input);
  return context.store.read(async (transaction) => {
    await existingAccount(transaction, query.account);
    const rows = await allCharges(transaction, chargeFilter(query));
    return chargeViews(context, transaction, rows);
  });
}

/** Usage grouped by day (account timezone), operation, model, thread, project, member or outcome. */
export async function usage(context: ReadContext, input: UsageInput): Promise<UsageView> {
  const query = parseInput(usageInput, input);
  return context.store.read(async (transaction) => {
    const account = await existingAccount(transaction, query.account);
    return summarizeUsage(query, await allCharges(transaction, chargeFilter(query)), account.timezone);
  });
}

/** Charges shown with money at their own price version's credit value. */
async function chargeViews(
  context: ReadContext,
  transaction: StoreTransaction,
  rows: readonly ChargeRow[],
): Promise<ChargeView[]> {
  const views: ChargeView[] = [];
  for (const row of rows)
    views.push(chargeView(row, (await context.price_books.get(transaction, row.price_version)).credit_value));
  return views;
}

export async function existingAccount(transaction: StoreTransaction, account_id: string) {
  const account = await transaction.getAccount(account_id);
  if (!account) throw new TallyError('account_not_found', `no account ${account_id}`);
  return account;
}

/** The event feed, oldest first after `cursor` (an event id); optionally of one account and one type. */
export async function listEvents(
  context: ReadContext,
  input: {
    account?: string;
    type?: string;
    cursor?: string;
    limit?: number;
  },
): Promise<{ data: EventView[]; next_cursor: string | null }> {
  const query = parseInput(listEventsInput, input);
  const rows = await context.store.read((transaction) =>
    transaction.listEvents(
      { account_id: query.account, type: query.type, after: query.cursor },
      query.limit + 1,
    ),
  );
  const { page, next_cursor } = pageOf(rows, query.limit, (row) => row.id);
  return { data: page.map(eventView), next_cursor };
}

// ── Prices and forecasts ─────────────────────────────────────────────────────────────────

/** The public price table of the version in force now, or of a given version. */
export async function priceTable(context: ReadContext, version?: number): Promise<PriceTableView> {
  return context.store.read(async (transaction) =>
    priceTableView(
      version === undefined
        ? await context.price_books.inForceAt(transaction, context.clock.now_ms())
        : await context.price_books.get(transaction, version),
    ),
  );
}

/** Prices one run for an account before it happens; changes nothing. */
export async function estimate(
  context: ReadContext,
  input: EstimateInput,
  options: { api_key_id?: string | undefined } = {},
): Promise<EstimateView> {
  const request = parseInput(estimateInput, input);
  await refreshIfDue(context, request.account);
  return context.store.read(async (transaction) => {
    const now_ms = context.clock.now_ms();
    const book = await context.price_books.inForceAt(transaction, now_ms);
    const operation = operationOf(book.operations, request.operation);
    await checkTeamMember(transaction, await existingAccount(transaction, request.account), request.member);
    const snapshot = await loadSnapshot(
      transaction,
      request.account,
      context.config,
      now_ms,
      request.member ?? null,
    );
    const creator = await creatorOf(transaction, operation, request);
    return buildEstimate(
      request,
      operation,
      book,
      snapshot,
      context.config,
      now_ms,
      options.api_key_id,
      creator,
    );
  });
}

/** "About N more": runs the balance covers for every operation at typical usage, and runway at the recent burn rate. */
export async function remaining(context: ReadContext, account_id: string): Promise<RemainingView> {
  await refreshIfDue(context, account_id);
  return context.store.read(async (transaction) => {
    const now_ms = context.clock.now_ms();
    const book = await context.price_books.inForceAt(transaction, now_ms);
    const snapshot = await loadSnapshot(transaction, account_id, context.config, now_ms);
    return buildRemaining(account_id, book, snapshot, context.config, now_ms);
  });
}
