/**
 * Reservation id → account id, for reservations made in this process, so settling one opens its
 * account at once (and gives group commit its hint) instead of reading the reservation first. A
 * reservation never changes account, so this cannot go stale; past its bound it starts over.
 */
import { RESERVATION_ACCOUNTS_REMEMBERED_MAX } from '../domain/limits.ts';

export class ReservationAccounts {
  private readonly accounts = new Map<string, string>();

  remember(reservation_id: string, account_id: string): void {
    if (this.accounts.size >= RESERVATION_ACCOUNTS_REMEMBERED_MAX) this.accounts.clear();
    this.accounts.set(reservation_id, account_id);
  }

  accountOf(reservation_id: string): string | undefined {
    return this.accounts.get(reservation_id);
  }
}
