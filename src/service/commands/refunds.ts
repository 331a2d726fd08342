/** Refunds (SPEC C1, C13): credits of a charge given back as a grant that points at it. */
import { formatCredits } from '../../domain/credits.ts';
import { TallyError } from '../../domain/results.ts';
import { refundInput } from '../../schema/commands.ts';
import { AccountSession } from '../account-session.ts';
import { grantView } from '../views.ts';
import { command } from './command.ts';
import { reverseCreatorShare } from './runs.ts';

/** Gives back (part of) a charge as a non-expiring grant of the refund kind that points at the charge. */
export const refundChargeCommand = command({
  name: 'refund_charge',
  input: refundInput,
  audited: true,
  run: async ({ transaction, now_ms, engine, environment }, request) => {
    const found = await transaction.getCharge(request.charge);
    if (!found) throw new TallyError('charge_not_found', `no charge ${request.charge}`);
    const session = await AccountSession.open(transaction, found.account_id, environment);
    // The bound (refund ≤ what is left of the charge) is read again under the account's lock:
    // the copy read to find the account may already be outdated by a refund committing meanwhile.
    const charge = (await transaction.getCharge(request.charge))!;
    const refundable_micros = charge.credits_micros - charge.refunded_micros;
    const amount_micros = request.amount ?? refundable_micros;
    if (amount_micros <= 0n || amount_micros > refundable_micros) {
      throw new TallyError(
        'refund_exceeds_charge',
        `${formatCredits(refundable_micros)} credits of charge ${charge.id} can still be refunded`,
      );
    }
    const refund_id = engine.ids.next('rf', now_ms);
    await reverseCreatorShare(session, charge, amount_micros, refund_id);
    const grant = await session.issueStandingGrant(
      {
        kind: engine.config.refund_kind,
        amount_micros,
        source: 'refund',
        reason: request.reason,
        refund_of_charge_id: charge.id,
      },
      { from: 'consumed', type: 'refund', reference_id: refund_id },
    );
    charge.refunded_micros += amount_micros;
    await transaction.updateCharge(charge);
    await transaction.insertRefund({
      account_id: charge.account_id,
      id: refund_id,
      charge_id: charge.id,
      grant_id: grant.id,
      amount_micros,
      reason: request.reason,
      created_at_ms: now_ms,
    });
    return {
      refund_id,
      charge_id: charge.id,
      amount: formatCredits(amount_micros),
      grant: grantView(grant, now_ms),
    };
  },
});
