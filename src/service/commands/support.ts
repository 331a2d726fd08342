/**
 * Support (SPEC C13): compensation in one call, and incidents recorded for thread review. A
 * compensation is one non-expiring grant of the refund kind (source `compensation`) linked to
 * the charges it makes good; what a charge had back, by refund or compensation, is bounded by
 * its credits and read under the account's lock. Creators' shares go back pro rata.
 */
import { formatCredits } from '../../domain/credits.ts';
import { TallyError } from '../../domain/results.ts';
import { compensationInput, incidentInput } from '../../schema/commands.ts';
import type { ChargeRow, CompensationRow, IncidentRow } from '../../store/store.ts';
import { AccountSession } from '../account-session.ts';
import { grantView, isoTime } from '../views.ts';
import { command } from './command.ts';
import { reverseCreatorShare } from './runs.ts';

export const compensateCommand = command({
  name: 'compensate',
  input: compensationInput,
  audited: true,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, engine, environment }, request) => {
    const session = await AccountSession.open(transaction, request.account, environment);
    const id = engine.ids.next('cmp', now_ms);
    // Read under the lock: a refund or compensation committing meanwhile is counted.
    const charges: ChargeRow[] = [];
    for (const charge_id of new Set(request.charges ?? [])) {
      const charge = await transaction.getCharge(charge_id);
      if (!charge || charge.account_id !== request.account)
        throw new TallyError('charge_not_found', `no charge ${charge_id} of ${request.account}`);
      charges.push(charge);
    }
    const left = (charge: ChargeRow) => charge.credits_micros - charge.refunded_micros;
    const compensable = charges.reduce((sum, charge) => sum + left(charge), 0n);
    const amount_micros = request.amount ?? compensable;
    if (charges.length > 0 && (amount_micros > compensable || amount_micros === 0n)) {
      throw new TallyError(
        'compensation_exceeds_charges',
        `${formatCredits(compensable)} credits of these charges are left to compensate`,
        { extensions: { compensable: formatCredits(compensable) } },
      );
    }
    // The amount goes to the charges in the order given, each up to what is left of it.
    const parts: CompensationRow['parts'] = [];
    let rest = amount_micros;
    for (const charge of charges) {
      const part = rest < left(charge) ? rest : left(charge);
      if (part === 0n) continue;
      rest -= part;
      parts.push({ charge_id: charge.id, amount_micros: part });
      await reverseCreatorShare(session, charge, part, id);
      charge.refunded_micros += part;
      await transaction.updateCharge(charge);
    }
    const grant = await session.issueStandingGrant(
      {
        kind: engine.config.refund_kind,
        amount_micros,
        source: 'compensation',
        reason: request.reason,
        metadata: { compensation: id },
      },
      // Spent credits come back from `consumed`; a goodwill amount is new credits.
      parts.length > 0
        ? { from: 'consumed', type: 'refund', reference_id: id }
        : { from: 'issued', type: 'grant_issue', reference_id: id },
    );
    const row: CompensationRow = {
      account_id: request.account,
      id,
      grant_id: grant.id,
      amount_micros,
      parts,
      reason: request.reason,
      created_at_ms: now_ms,
    };
    await transaction.insertCompensation(row);
    const answer = {
      id,
      account: request.account,
      amount: formatCredits(amount_micros),
      grant: grantView(grant, now_ms),
      charges: parts.map((part) => ({ charge: part.charge_id, amount: formatCredits(part.amount_micros) })),
      reason: request.reason,
      created_at: isoTime(now_ms),
    };
    await session.emit('compensation.granted', {
      compensation: id,
      amount: answer.amount,
      grant: grant.id,
      charges: answer.charges,
      reason: request.reason,
    });
    return answer;
  },
});

export const recordIncidentCommand = command({
  name: 'record_incident',
  input: incidentInput,
  audited: true,
  run: async ({ transaction, now_ms, engine }, request) => {
    const row: IncidentRow = {
      id: engine.ids.next('inc', now_ms),
      from_ms: request.from,
      to_ms: request.to,
      operations: request.operations ?? null,
      note: request.note,
      created_at_ms: now_ms,
    };
    await transaction.insertIncident(row);
    return incidentView(row);
  },
});

export const incidentView = (row: IncidentRow) => ({
  id: row.id,
  from: isoTime(row.from_ms),
  to: isoTime(row.to_ms),
  operations: row.operations,
  note: row.note,
  created_at: isoTime(row.created_at_ms),
});
