/**
 * Metering (SPEC C6): reserve before a run, settle its actual usage after it or release it, and
 * charge a run whose cost is known in one step. These are not audited: each run is recorded with
 * the API key that made it in its reservation, its charge and the journal.
 */
import { creatorShareMicros, reversedShareMicros } from '../../domain/creators.ts';
import { type Decimal, formatDecimal, minBigint } from '../../domain/decimal.ts';
import { type Allocation, planDraw, splitSettlement } from '../../domain/drawdown.ts';
import { type JournalEntry, move } from '../../domain/journal.ts';
import { RESERVATION_TTL_SECONDS_DEFAULT } from '../../domain/limits.ts';
import { costForOutcome, type OperationPrice, type Outcome, priceRun } from '../../domain/pricing.ts';
import { TallyError } from '../../domain/results.ts';
import { noProgressCost, producedNothing } from '../../domain/review.ts';
import type { RunScope } from '../../domain/spending.ts';
import { chargeInput, releaseInput, reserveInput, settleInput } from '../../schema/commands.ts';
import type { TallyConfig } from '../../schema/config.ts';
import type {
  ChargeCreator,
  ChargeRow,
  ReservationRow,
  RunMetadata,
  StoreTransaction,
} from '../../store/store.ts';
import { AccountSession } from '../account-session.ts';
import { limitStatuses } from '../limits.ts';
import { announceLimitsReached, insufficientCredits, runPolicy } from '../policy.ts';
import { priceFactorOf } from '../subscriptions.ts';
import { checkTeamMember } from '../teams.ts';
import { chargeView, isoTime, reservationView } from '../views.ts';
import { type CommandContext, type CommandEngine, command } from './command.ts';

/** The scope limits see of a run: its operation, member, project and API key. */
export function runScope(
  operation: string,
  run: { member?: string | null | undefined; metadata?: RunMetadata | undefined },
  api_key: string | null | undefined,
): RunScope {
  return {
    operation,
    member: run.member ?? null,
    project: run.metadata?.project ?? null,
    api_key: api_key ?? null,
  };
}

export const usageRecord = (usage: ReadonlyMap<string, Decimal>): Record<string, string> =>
  Object.fromEntries([...usage].map(([dimension, quantity]) => [dimension, formatDecimal(quantity)]));

function runMetadata(metadata: RunMetadata | undefined, creator: string | null = null): RunMetadata {
  const kept = Object.fromEntries(Object.entries(metadata ?? {}).filter(([, value]) => value !== undefined));
  return creator === null ? kept : { ...kept, author: creator };
}

/**
 * The creator who earns of a run (SPEC C10): `creator` on the request, else `metadata.author`,
 * when the operation shares with creators and the creator is not the runner (or the team member
 * running). A creator named must be an account; where the operation has no share, the author is
 * kept as metadata only.
 */
export async function creatorOf(
  transaction: StoreTransaction,
  operation: OperationPrice,
  run: {
    account: string;
    member?: string | undefined;
    creator?: string | undefined;
    metadata?: RunMetadata | undefined;
  },
): Promise<string | null> {
  const creator = run.creator ?? run.metadata?.author;
  if (creator === undefined || !operation.creator_share) return null;
  if (creator === run.account || creator === run.member) return null;
  if (!(await transaction.getAccount(creator))) {
    throw new TallyError('creator_not_found', `no account ${creator} to credit as the creator of this run`);
  }
  return creator;
}

/**
 * The no-progress rule of the operation (price book `no_progress`): a run that failed or produced
 * nothing after the same request ran K times just before it in its thread costs the rule's
 * credits at most. Only runs in a thread that fail or produce nothing read the thread.
 */
async function afterNoProgress(
  transaction: StoreTransaction,
  operation: OperationPrice,
  run: {
    account: string;
    model: string | null;
    usage: Record<string, string>;
    outcome: Outcome;
    thread: string | undefined;
  },
  cost_micros: bigint,
  now_ms: number,
): Promise<bigint> {
  const rule = operation.no_progress;
  if (!rule || run.thread === undefined || cost_micros === 0n) return cost_micros;
  if (run.outcome !== 'failed' && !producedNothing(run.usage)) return cost_micros;
  const current = {
    id: '',
    operation: operation.id,
    ...run,
    credits_micros: cost_micros,
    created_at_ms: now_ms,
  };
  const before = await transaction.listCharges(
    { account_id: run.account, thread: run.thread },
    { limit: rule.after_identical },
  );
  return noProgressCost(rule, current, before, cost_micros);
}

/** The creator's part of a charge and the journal entries that book it from `consumed`. */
export function creatorPart(
  operation: OperationPrice,
  creator: string | null,
  charge_micros: bigint,
): { creator: ChargeCreator | null; entries: JournalEntry[] } {
  const share = operation.creator_share;
  if (creator === null || !share) return { creator: null, entries: [] };
  const share_micros = creatorShareMicros(share, charge_micros);
  return {
    creator: { account_id: creator, basis: share.basis, share_micros, reversed_micros: 0n },
    entries: creatorEntries(share_micros, 'consumed', 'creator'),
  };
}

/**
 * Takes back the creator's share of `amount_micros` given back of a charge (a refund, a
 * compensation), pro rata, in the same transaction (SPEC C10). Paid out already or not, it comes
 * off what they earned: a negative line on their next statement. The caller writes the charge.
 */
export async function reverseCreatorShare(
  session: AccountSession,
  charge: ChargeRow,
  amount_micros: bigint,
  reference_id: string,
): Promise<void> {
  if (!charge.creator) return;
  const reversed_micros = reversedShareMicros(charge, charge.creator, amount_micros);
  charge.creator.reversed_micros += reversed_micros;
  await session.post(
    'creator_reversal',
    reference_id,
    creatorEntries(reversed_micros, 'creator', 'consumed'),
  );
}

/** A movement between `consumed` and the `creator` book (a share, or its reversal). */
export function creatorEntries(
  amount_micros: bigint,
  from: 'consumed' | 'creator',
  to: 'consumed' | 'creator',
): JournalEntry[] {
  if (amount_micros === 0n) return [];
  return [
    { book: from, grant_id: null, reservation_id: null, amount_micros: -amount_micros },
    { book: to, grant_id: null, reservation_id: null, amount_micros },
  ];
}

export function operationOf(
  book_operations: ReadonlyMap<string, OperationPrice>,
  id: string,
): OperationPrice {
  const operation = book_operations.get(id);
  if (!operation) throw new TallyError('operation_not_found', `the price book has no operation ${id}`);
  return operation;
}

/** Every limit of the session's account with what is used of it now. */
export const statusesOf =
  (config: TallyConfig, member: string | null = null) =>
  (session: AccountSession) =>
    limitStatuses(
      session.transaction,
      config,
      session.account,
      session.subscription,
      session.account_limits,
      session.now_ms,
      member,
      session.held_on_open,
    );

/** Draws a run's credits past its entitlement and limits, or refuses with every reason it cannot. */
async function drawForRun(
  engine: CommandEngine,
  session: AccountSession,
  operation: OperationPrice,
  model: string | undefined,
  amount_micros: bigint,
  run: RunScope,
): Promise<Allocation[]> {
  const { caps, context } = await runPolicy(
    session,
    engine.config,
    operation,
    model,
    run,
    statusesOf(engine.config, run.member),
  );
  const plan = planDraw(await session.drawableGrants(), operation.id, amount_micros, session.now_ms, caps);
  if (!plan.ok) throw insufficientCredits(amount_micros, plan, context);
  await announceLimitsReached(session, context.statuses, caps, plan.allocations);
  return plan.allocations;
}

/** Loads a reservation that is still held, refusing one that was settled, released or has expired. */
async function heldReservation(
  { transaction, engine, environment }: CommandContext,
  reservation_id: string,
): Promise<{ reservation: ReservationRow; session: AccountSession }> {
  const not_found = () => new TallyError('reservation_not_found', `no reservation ${reservation_id}`);
  const account_id =
    engine.reservation_accounts.accountOf(reservation_id) ??
    (await transaction.getReservation(reservation_id))?.account_id;
  if (account_id === undefined) throw not_found();
  // Read under the lock, after due work is booked: a reservation past its TTL is already expired here.
  const session = await AccountSession.open(transaction, account_id, environment, reservation_id);
  const reservation = session.reservation;
  if (!reservation) throw not_found();
  if (reservation.status === 'settled') throw new TallyError('reservation_already_settled');
  if (reservation.status === 'released') throw new TallyError('reservation_released');
  if (reservation.status === 'expired') {
    throw new TallyError(
      'reservation_expired',
      `reservation ${reservation_id} expired at ${isoTime(reservation.expires_at_ms)}`,
    );
  }
  return { reservation, session };
}

/** Opens a new run's account and prices the run at the price book version in force there. */
async function openPriced(
  { transaction, engine, environment }: Pick<CommandContext, 'transaction' | 'engine' | 'environment'>,
  run: {
    account: string;
    operation: string;
    model?: string | undefined;
    add_ons?: string[] | undefined;
    member?: string | undefined;
    creator?: string | undefined;
    metadata?: RunMetadata | undefined;
  },
  usage: ReadonlyMap<string, Decimal>,
) {
  const session = await AccountSession.open(transaction, run.account, environment);
  await checkTeamMember(transaction, session.account, run.member);
  const book = await engine.price_books.ofVersionInForce(transaction, session.price_version_in_force);
  const operation = operationOf(book.operations, run.operation);
  const creator = await creatorOf(transaction, operation, run);
  const priced = priceRun(operation, {
    model: run.model,
    usage,
    add_ons: run.add_ons,
    on_creator_work: creator !== null,
    price_factor: priceFactorOf(session.subscription, operation.id),
  });
  if (!priced.ok) throw new TallyError(priced.code, priced.detail);
  return { session, book, operation, creator, priced_micros: priced.micros };
}

/** The account a command on a reservation works on, where this process made the reservation. */
const accountOfReservation = (input: { reservation: string }, engine: CommandEngine) =>
  engine.reservation_accounts.accountOf(input.reservation);

/** Holds the most a run may cost before it starts. */
export const reserveCommand = command({
  name: 'reserve',
  input: reserveInput,
  audited: false,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, engine, environment, api_key_id }, request) => {
    const { session, book, operation, creator, priced_micros } = await openPriced(
      { transaction, engine, environment },
      request,
      request.usage ?? new Map(),
    );
    // The hold is the most the run may cost: what the caller allows, else the priced usage, else the operation's maximum.
    const amount_micros = request.max_credits ?? (request.usage ? priced_micros : operation.max_micros);
    if (amount_micros === undefined) {
      throw new TallyError('usage_required', `${operation.id} has no maximum; give usage or max_credits`);
    }
    const allocations = await drawForRun(
      engine,
      session,
      operation,
      request.model,
      amount_micros,
      runScope(operation.id, request, api_key_id),
    );
    const row: ReservationRow = {
      account_id: request.account,
      id: engine.ids.next('rsv', now_ms),
      operation: operation.id,
      model: request.model ?? null,
      add_ons: request.add_ons ?? [],
      member: request.member ?? null,
      api_key_id: api_key_id ?? null,
      status: 'held',
      amount_micros,
      price_version: book.version,
      allocations,
      usage: request.usage ? usageRecord(request.usage) : null,
      // The creator, checked here, is the run's author from now on: settling reads it back.
      metadata: runMetadata(request.metadata, creator),
      expires_at_ms: now_ms + (request.ttl_seconds ?? RESERVATION_TTL_SECONDS_DEFAULT) * 1000,
      created_at_ms: now_ms,
      resolved_at_ms: null,
      charge_id: null,
    };
    await transaction.insertReservation(row);
    await session.post('reserve', row.id, await session.takeFromGrants(allocations, 'hold', row.id));
    engine.reservation_accounts.remember(row.id, row.account_id);
    return reservationView(row, book.credit_value, now_ms);
  },
});

/**
 * Under `overage: draw`, takes what a run cost above its hold from the balance, as far as it
 * goes (within the run's caps); what it cannot cover stays uncollected.
 */
async function drawExcess(
  { engine, now_ms }: CommandContext,
  session: AccountSession,
  operation: OperationPrice,
  reservation: ReservationRow,
  excess_micros: bigint,
): Promise<{ entries: JournalEntry[]; allocations: Allocation[]; uncollected_micros: bigint }> {
  if (excess_micros <= 0n) return { entries: [], allocations: [], uncollected_micros: 0n };
  const grants = await session.drawableGrants();
  const { caps } = await runPolicy(
    session,
    engine.config,
    operation,
    reservation.model,
    runScope(operation.id, reservation, reservation.api_key_id),
    statusesOf(engine.config, reservation.member),
  );
  let uncollected_micros = 0n;
  let plan = planDraw(grants, operation.id, excess_micros, now_ms, caps);
  if (!plan.ok) {
    uncollected_micros = excess_micros - plan.available_micros;
    plan = planDraw(grants, operation.id, plan.available_micros, now_ms, caps);
  }
  if (!plan.ok) return { entries: [], allocations: [], uncollected_micros };
  return {
    entries: await session.takeFromGrants(plan.allocations, 'consumed', reservation.id),
    allocations: plan.allocations,
    uncollected_micros,
  };
}

/** Posts the actual usage of a reserved run; credits not used go back to the grants they came from. */
export const settleCommand = command({
  name: 'settle',
  input: settleInput,
  audited: false,
  account: accountOfReservation,
  run: async (context, request) => {
    const { transaction, now_ms, engine } = context;
    const { reservation, session } = await heldReservation(context, request.reservation);
    const book = await engine.price_books.get(transaction, reservation.price_version);
    const operation = operationOf(book.operations, reservation.operation);
    const creator = await creatorOf(transaction, operation, {
      account: reservation.account_id,
      member: reservation.member ?? undefined,
      metadata: reservation.metadata,
    });
    const priced = priceRun(operation, {
      model: reservation.model ?? undefined,
      usage: request.usage,
      add_ons: reservation.add_ons,
      on_creator_work: creator !== null,
      price_factor: priceFactorOf(session.subscription, operation.id),
    });
    if (!priced.ok) throw new TallyError(priced.code, priced.detail);
    const outcome: Outcome = request.outcome ?? 'succeeded';
    const cost_micros = await afterNoProgress(
      transaction,
      operation,
      {
        account: reservation.account_id,
        model: reservation.model,
        usage: usageRecord(request.usage),
        outcome,
        thread: reservation.metadata.thread,
      },
      costForOutcome(operation, priced.micros, outcome),
      now_ms,
    );

    const charge_id = engine.ids.next('ch', now_ms);
    const within_hold = minBigint(cost_micros, reservation.amount_micros);
    const { used, unused } = splitSettlement(reservation.allocations, within_hold);
    const entries = [
      ...used.flatMap((allocation) =>
        move('hold', 'consumed', allocation.amount_micros, {
          grant_id: allocation.grant_id,
          reservation_id: reservation.id,
        }),
      ),
      ...(await session.returnToGrants(unused, reservation.id)),
    ];
    // Above the hold: capped (the user never pays more than they were shown) unless the operator draws the excess.
    // What the run cost beyond what it was charged is recorded in every mode: under `cap` all
    // of the excess, under `draw` what the balance could not cover. The operator's analytics need it.
    const excess_micros = cost_micros - within_hold;
    let allocations: Allocation[] = used;
    let uncollected_micros = excess_micros;
    if (engine.config.overage === 'draw') {
      const drawn = await drawExcess(context, session, operation, reservation, excess_micros);
      entries.push(...drawn.entries);
      allocations = [...used, ...drawn.allocations];
      uncollected_micros = drawn.uncollected_micros;
    }
    const credits_micros = engine.config.overage === 'draw' ? cost_micros - uncollected_micros : within_hold;
    const part = creatorPart(operation, creator, credits_micros);
    entries.push(...part.entries);
    const charge: ChargeRow = {
      account_id: reservation.account_id,
      id: charge_id,
      reservation_id: reservation.id,
      operation: reservation.operation,
      model: reservation.model,
      add_ons: reservation.add_ons,
      member: reservation.member,
      api_key_id: reservation.api_key_id,
      usage: usageRecord(request.usage),
      credits_micros,
      uncollected_micros,
      allocations,
      outcome,
      price_version: reservation.price_version,
      metadata: reservation.metadata,
      refunded_micros: 0n,
      usage_source: request.usage_source ?? null,
      creator: part.creator,
      created_at_ms: now_ms,
    };
    await transaction.insertCharge(charge);
    reservation.status = 'settled';
    reservation.resolved_at_ms = now_ms;
    reservation.charge_id = charge_id;
    await transaction.updateReservation(reservation);
    await session.post('settle', reservation.id, entries);
    return chargeView(charge, book.credit_value);
  },
});

/** Voids a reservation: every held credit goes back. */
export const releaseCommand = command({
  name: 'release',
  input: releaseInput,
  audited: false,
  account: accountOfReservation,
  run: async (context, request) => {
    const { transaction, now_ms, engine } = context;
    const { reservation, session } = await heldReservation(context, request.reservation);
    await session.endReservation(reservation, 'released', now_ms);
    const book = await engine.price_books.get(transaction, reservation.price_version);
    return reservationView(reservation, book.credit_value, now_ms);
  },
});

/** Reserve and settle in one step, for runs whose cost is known. */
export const chargeCommand = command({
  name: 'charge',
  input: chargeInput,
  audited: false,
  account: (input) => input.account,
  run: async ({ transaction, now_ms, engine, environment, api_key_id }, request) => {
    const { session, book, operation, creator, priced_micros } = await openPriced(
      { transaction, engine, environment },
      request,
      request.usage,
    );
    const outcome: Outcome = request.outcome ?? 'succeeded';
    const cost_micros = await afterNoProgress(
      transaction,
      operation,
      {
        account: request.account,
        model: request.model ?? null,
        usage: usageRecord(request.usage),
        outcome,
        thread: request.metadata?.thread,
      },
      costForOutcome(operation, priced_micros, outcome),
      now_ms,
    );
    const allocations = await drawForRun(
      engine,
      session,
      operation,
      request.model,
      cost_micros,
      runScope(operation.id, request, api_key_id),
    );
    const charge: ChargeRow = {
      account_id: request.account,
      id: engine.ids.next('ch', now_ms),
      reservation_id: null,
      operation: operation.id,
      model: request.model ?? null,
      add_ons: request.add_ons ?? [],
      member: request.member ?? null,
      api_key_id: api_key_id ?? null,
      usage: usageRecord(request.usage),
      credits_micros: cost_micros,
      uncollected_micros: 0n,
      allocations,
      outcome,
      price_version: book.version,
      metadata: runMetadata(request.metadata, creator),
      refunded_micros: 0n,
      usage_source: null,
      creator: null,
      created_at_ms: now_ms,
    };
    const part = creatorPart(operation, creator, cost_micros);
    charge.creator = part.creator;
    await transaction.insertCharge(charge);
    await session.post('charge', charge.id, [
      ...(await session.takeFromGrants(allocations, 'consumed', null)),
      ...part.entries,
    ]);
    return chargeView(charge, book.credit_value);
  },
});
