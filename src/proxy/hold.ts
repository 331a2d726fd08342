/**
 * What every metered call does around the provider: price its usage, hold the most it can cost
 * (an ordinary reservation, so concurrent calls can never hold more than the account has), and
 * settle what it used, or release the hold when the provider failed before any output.
 */
import { formatCredits, parseCredits } from '../domain/credits.ts';
import { priceRun } from '../domain/pricing.ts';
import { TallyError } from '../domain/results.ts';
import type { ProxyRoute } from '../schema/config.ts';
import { operationOf } from '../service/commands/runs.ts';
import type { Tally } from '../service/tally.ts';
import type { ReservationView } from '../service/views.ts';
import type { RunMetadata, UsageSource } from '../store/store.ts';

/** Who pays for a call, and what goes onto its charge. */
export interface Payer {
  account: string;
  api_key_id: string | undefined;
  metadata: RunMetadata;
}

/** Usage by dimension, in whole units (tokens, images). */
export type Usage = Record<string, number>;

/** A call's hold, and the price of any usage at the hold's price version. */
export interface Hold {
  tally: Tally;
  route: ProxyRoute;
  reservation: ReservationView;
  hold_micros: bigint;
  price: (usage: Usage) => bigint;
}

const asDecimals = (usage: Usage) =>
  new Map(Object.entries(usage).map(([dimension, units]) => [dimension, { units: BigInt(units), scale: 0 }]));

/** Credits as an answer gives them (a decimal string the engine wrote) in micro-credits. */
function microsOf(credits: string): bigint {
  const parsed = parseCredits(credits, { allow_zero: true });
  return parsed.ok ? parsed.micros : 0n;
}

/**
 * Holds the most the call can cost. When the account has less, a call that can be cut where
 * its hold ends (`may_shrink`: a stream) holds what it has, if that covers `least`; any other is
 * refused as the engine refuses a reservation: 402 with what it needs and what blocks it, or 403
 * for a missing entitlement.
 */
export async function holdFor(
  tally: Tally,
  route: ProxyRoute,
  payer: Payer,
  call: { most: Usage; least: Usage; may_shrink: boolean; add_ons: string[] },
): Promise<Hold> {
  const book = await tally.store.read((transaction) =>
    tally.price_books.inForceAt(transaction, tally.clock.now_ms()),
  );
  const operation = operationOf(book.operations, route.operation);
  const price = (usage: Usage): bigint => {
    const priced = priceRun(operation, {
      model: route.price_model,
      usage: asDecimals(usage),
      add_ons: call.add_ons,
    });
    if (!priced.ok) throw new TallyError(priced.code, priced.detail);
    return priced.micros;
  };
  const most = price(call.most);
  const run = {
    account: payer.account,
    operation: route.operation,
    model: route.price_model,
    add_ons: call.add_ons,
  };
  const reserve = (hold_micros: bigint) =>
    tally.reserve(
      { ...run, max_credits: formatCredits(hold_micros), metadata: payer.metadata },
      { api_key_id: payer.api_key_id },
    );
  // The usual call: its most is held at once (one command; a refusal carries what blocks it).
  try {
    return { tally, route, reservation: await reserve(most), hold_micros: most, price };
  } catch (error) {
    if (!(call.may_shrink && error instanceof TallyError && error.code === 'insufficient_credits'))
      throw error;
  }
  // A stream the account cannot cover whole runs on what it has, if that covers `least`.
  const estimate = await tally.estimate(
    { ...run, usage: call.most, metadata: payer.metadata },
    { api_key_id: payer.api_key_id },
  );
  const hold_micros = microsOf(estimate.available);
  if (hold_micros === 0n || hold_micros < price(call.least))
    throw new TallyError('insufficient_credits', `this call needs up to ${formatCredits(most)} credits`, {
      extensions: {
        needed: formatCredits(most),
        available: estimate.available,
        blocked_by: estimate.blocked_by,
        options: estimate.options,
      },
    });
  const reservation = await reserve(hold_micros);
  return { tally, route, reservation, hold_micros, price };
}

export async function settleHold(hold: Hold, usage: Usage, source: UsageSource): Promise<void> {
  await hold.tally.settle({ reservation: hold.reservation.id, usage, usage_source: source });
}

export async function releaseHold(hold: Hold): Promise<void> {
  await hold.tally.release({
    reservation: hold.reservation.id,
    reason: 'the provider failed before any output',
  });
}
