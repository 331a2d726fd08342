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
  const run = {
    account: payer.account,
    operation: route.operation,
    model: route.price_model,
    add_ons: call.add_ons,
    metadata: payer.metadata,
  };
  const reserve = (most: { usage: Usage } | { max_credits: string }) =>
    tally.reserve({ ...run, ...most }, { api_key_id: payer.api_key_id });
  const held = async (reservation: ReservationView): Promise<Hold> => ({
    tally,
    route,
    reservation,
    hold_micros: microsOf(reservation.amount),
    price: await pricing(tally, route, call.add_ons, reservation.price_version),
  });
  // The usual call: its most is priced and held by one command, at the price version in force
  // (no read of the book first); a refusal carries what blocks it.
  try {
    return await held(await reserve({ usage: call.most }));
  } catch (error) {
    if (!(call.may_shrink && error instanceof TallyError && error.code === 'insufficient_credits'))
      throw error;
  }
  // A stream the account cannot cover whole runs on what it has, if that covers `least`.
  const estimate = await tally.estimate({ ...run, usage: call.most }, { api_key_id: payer.api_key_id });
  const price = await pricing(tally, route, call.add_ons, estimate.price_version);
  const hold_micros = microsOf(estimate.available);
  if (hold_micros === 0n || hold_micros < price(call.least)) {
    const most = formatCredits(price(call.most));
    throw new TallyError('insufficient_credits', `this call needs up to ${most} credits`, {
      extensions: {
        needed: most,
        available: estimate.available,
        blocked_by: estimate.blocked_by,
        options: estimate.options,
      },
    });
  }
  return held(await reserve({ max_credits: formatCredits(hold_micros) }));
}

/** Prices usage as one version of the price book does; a version compiled before needs no read. */
async function pricing(
  tally: Tally,
  route: ProxyRoute,
  add_ons: string[],
  version: number,
): Promise<(usage: Usage) => bigint> {
  const book =
    tally.price_books.compiledVersion(version) ??
    (await tally.store.read((transaction) => tally.price_books.get(transaction, version)));
  const operation = operationOf(book.operations, route.operation);
  return (usage) => {
    const priced = priceRun(operation, { model: route.price_model, usage: asDecimals(usage), add_ons });
    if (!priced.ok) throw new TallyError(priced.code, priced.detail);
    return priced.micros;
  };
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
