/**
 * Due work (SPEC C3, C7): reservations past their TTL, grants past their expiry or about to
 * expire, allowance periods and renewals, booked a batch of accounts at a time. Balances never
 * depend on this having run — reads and writes book what is due on their account first — it
 * keeps the stored rows and the journal in step with the clock, and raises the events.
 */
import { DAY_MS } from '../../domain/calendar.ts';
import type { TallyConfig } from '../../schema/config.ts';
import type { Store } from '../../store/store.ts';
import { AccountSession, finishSessions, type SessionEnvironment } from '../account-session.ts';
import type { Clock } from '../clock.ts';

export interface DueWorkReport {
  accounts: number;
  reservations_expired: number;
  grants_expired: number;
  grants_announced: number;
}

/** What the job uses of the engine. */
export interface DueWorkContext {
  readonly store: Store;
  readonly config: TallyConfig;
  readonly clock: Clock;
  environment(now_ms: number): SessionEnvironment;
}

/** Books everything due, `batch_size` accounts a transaction at a time, until nothing is. */
export async function bookDueWork(context: DueWorkContext, batch_size = 100): Promise<DueWorkReport> {
  const report: DueWorkReport = {
    accounts: 0,
    reservations_expired: 0,
    grants_expired: 0,
    grants_announced: 0,
  };
  for (;;) {
    const now_ms = context.clock.now_ms();
    const expiring_soon_ms = context.config.expiring_soon_days * DAY_MS;
    const account_ids = await context.store.read((transaction) =>
      transaction.listAccountsWithDueWork(now_ms, now_ms + expiring_soon_ms, batch_size),
    );
    if (account_ids.length === 0) return report;
    for (const account_id of account_ids) {
      // Opening a session books everything due on the account.
      const booked = await context.store.transaction(async (transaction) => {
        const session = await AccountSession.open(transaction, account_id, context.environment(now_ms));
        await finishSessions(transaction);
        return session.booked_on_open;
      });
      report.accounts++;
      report.reservations_expired += booked.reservations_expired;
      report.grants_expired += booked.grants_expired;
      report.grants_announced += booked.grants_announced;
    }
  }
}
