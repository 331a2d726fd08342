/**
 * Creator payouts (SPEC C10). A payout is bounded by what is payable — the creator's net
 * earnings of runs older than the hold, less what was paid — and that bound is read under the
 * creator's account lock, so two payouts under different keys cannot both take the same
 * earnings. The payout is booked out of the `creator` book in the creator's own chain: to
 * `payout` when it is paid in money, into a grant when it is paid as credits.
 */
import { formatCredits } from '../../domain/credits.ts';
import { moneyFor } from '../../domain/money.ts';
import { TallyError } from '../../domain/results.ts';
import { payoutInput } from '../../schema/commands.ts';
import type { CreatorPayoutRow } from '../../store/store.ts';
import { AccountSession } from '../account-session.ts';
import { payableOf } from '../creators/statements.ts';
import { payoutView } from '../views.ts';
import { command } from './command.ts';

export const payoutCommand = command({
  name: 'creator_payout',
  input: payoutInput,
  audited: true,
  account: (input) => input.creator,
  run: async ({ transaction, now_ms, engine, environment }, request) => {
    const kind = engine.config.creators.earnings_kind;
    if (request.as === 'credits' && kind === undefined) throw new TallyError('payout_as_credits_unavailable');
    const session = await AccountSession.open(transaction, request.creator, environment);
    const payable = await payableOf(transaction, engine.config, request.creator, now_ms);
    if (request.amount > payable.payable_micros) {
      throw new TallyError(
        'payout_exceeds_payable',
        `${formatCredits(payable.payable_micros)} credits are payable to ${request.creator}; ${formatCredits(payable.in_hold_micros)} more are within the ${engine.config.creators.payout_hold_days}-day hold`,
        {
          extensions: {
            payable: formatCredits(payable.payable_micros),
            in_hold: formatCredits(payable.in_hold_micros),
          },
        },
      );
    }
    const book = await engine.price_books.ofVersionInForce(transaction, session.price_version_in_force);
    const money = moneyFor(request.amount, book.credit_value);
    const id = engine.ids.next('po', now_ms);
    let grant_id: string | null = null;
    if (request.as === 'credits') {
      const grant = await session.issueStandingGrant(
        {
          kind: kind!,
          amount_micros: request.amount,
          source: 'creator_earnings',
          reason: `creator payout ${id}`,
        },
        { from: 'creator', type: 'creator_payout', reference_id: id },
      );
      grant_id = grant.id;
    } else {
      await session.post('creator_payout', id, [
        { book: 'creator', grant_id: null, reservation_id: null, amount_micros: -request.amount },
        { book: 'payout', grant_id: null, reservation_id: null, amount_micros: request.amount },
      ]);
    }
    const row: CreatorPayoutRow = {
      account_id: request.creator,
      id,
      amount_micros: request.amount,
      currency: money.currency,
      amount_minor: BigInt(money.amount_minor),
      paid_as: request.as,
      grant_id,
      reference: request.reference ?? null,
      earned_before_ms: payable.earned_before_ms,
      created_at_ms: now_ms,
    };
    await transaction.insertCreatorPayout(row);
    return payoutView(row);
  },
});
