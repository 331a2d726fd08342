/**
 * Model-based property test of the ledger: random sequences of grant / reserve / settle /
 * release / charge / refund / revoke / advance-clock / book-due-work run against Tally and
 * against a small reference model of balances written independently here. After every
 * command the balances (total, held, and each grant's usable remaining) must agree, and after
 * every run `verify` must find nothing wrong.
 *
 * A failure prints fast-check's seed and path; replay it with
 * `TALLY_PROPERTY_SEED=<seed> TALLY_PROPERTY_PATH=<path> npx vitest run test/ledger.property.test.ts`.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { formatCredits } from '../src/domain/credits.ts';
import { TallyError } from '../src/domain/results.ts';
import type { TestClock } from '../src/service/clock.ts';
import type { Tally } from '../src/service/tally.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { Store } from '../src/store/store.ts';
import { dialects } from './dialects.ts';
import { openTestTally } from './helpers.ts';
import { createDatabase, truncateDatabase } from './postgres-server.ts';

const RUNS = 1_000;
const KINDS = ['daily', 'free', 'subscription', 'promo', 'bonus', 'purchased'];
// One micro-credit per unit, so a usage of N units costs exactly N micro-credits.
const CONFIG = {
  price_book: { operations: { unit: { rates: { units: '0.000001' } } } },
};

interface ModelGrant {
  id: string;
  priority: number;
  remaining: bigint;
  effective_at_ms: number;
  expires_at_ms: number | null;
  created: number;
  revoked: boolean;
}
interface ModelReservation {
  id: string;
  amount: bigint;
  allocations: { grant: ModelGrant; amount: bigint }[];
  expires_at_ms: number;
  status: 'held' | 'settled' | 'released' | 'expired';
}
interface ModelCharge {
  id: string;
  credits: bigint;
  refunded: bigint;
}
interface Model {
  now_ms: number;
  grants: ModelGrant[];
  reservations: ModelReservation[];
  charges: ModelCharge[];
}
interface Real {
  tally: Tally;
  clock: TestClock;
  /** Each run has an account of its own, so runs can share a store, an engine and a clock. */
  account: string;
}

const inForce = (grant: ModelGrant, now_ms: number) =>
  !grant.revoked &&
  grant.effective_at_ms <= now_ms &&
  (grant.expires_at_ms === null || now_ms < grant.expires_at_ms);

function giveBack(allocations: ModelReservation['allocations']) {
  for (const { grant, amount } of allocations) if (!grant.revoked) grant.remaining += amount;
}

/** Reservations past their TTL give their credits back, as every read and write of Tally sees it. */
function lapse(model: Model) {
  for (const reservation of model.reservations) {
    if (reservation.status === 'held' && reservation.expires_at_ms <= model.now_ms) {
      reservation.status = 'expired';
      giveBack(reservation.allocations);
    }
  }
}

function draw(model: Model, amount: bigint): { grant: ModelGrant; amount: bigint }[] | null {
  const usable = model.grants
    .filter((grant) => inForce(grant, model.now_ms) && grant.remaining > 0n)
    .sort(
      (a, b) =>
        a.priority - b.priority ||
        (a.expires_at_ms ?? Number.POSITIVE_INFINITY) - (b.expires_at_ms ?? Number.POSITIVE_INFINITY) ||
        a.created - b.created,
    );
  const total = usable.reduce((sum, grant) => sum + grant.remaining, 0n);
  if (total < amount) return null;
  const allocations = [];
  let needed = amount;
  for (const grant of usable) {
    if (needed === 0n) break;
    const take = grant.remaining < needed ? grant.remaining : needed;
    grant.remaining -= take;
    needed -= take;
    allocations.push({ grant, amount: take });
  }
  return allocations;
}

async function expectRefusal(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TallyError);
  expect((error as TallyError).code).toBe(code);
}

async function checkBalances(model: Model, real: Real) {
  lapse(model);
  const balance = await real.tally.getBalance(real.account);
  const usable = model.grants.filter((grant) => inForce(grant, model.now_ms));
  const held = model.reservations
    .filter((reservation) => reservation.status === 'held')
    .reduce((sum, reservation) => sum + reservation.amount, 0n);
  expect(balance.available).toBe(formatCredits(usable.reduce((sum, grant) => sum + grant.remaining, 0n)));
  expect(balance.held).toBe(formatCredits(held));
  for (const grant of usable) {
    expect(balance.grants.find((view) => view.id === grant.id)?.remaining).toBe(
      formatCredits(grant.remaining),
    );
  }
}

type Command = fc.AsyncCommand<Model, Real>;

/** What settling or releasing a reservation that is no longer held answers. */
const NOT_HELD_CODES = {
  settled: 'reservation_already_settled',
  released: 'reservation_released',
  expired: 'reservation_expired',
} as const;

class IssueGrant implements Command {
  constructor(
    readonly kind: number,
    readonly amount: bigint,
    readonly effective_in_s: number,
    readonly expires_after_s: number | null,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    lapse(model);
    const effective_at_ms = model.now_ms + this.effective_in_s * 1000;
    const expires_at_ms =
      this.expires_after_s === null ? null : effective_at_ms + this.expires_after_s * 1000;
    const view = await real.tally.issueGrant({
      account: real.account,
      kind: KINDS[this.kind]!,
      amount: formatCredits(this.amount),
      effective_at: new Date(effective_at_ms).toISOString(),
      expires_at: expires_at_ms === null ? null : new Date(expires_at_ms).toISOString(),
    });
    model.grants.push({
      id: view.id,
      priority: this.kind,
      remaining: this.amount,
      effective_at_ms,
      expires_at_ms,
      created: model.grants.length,
      revoked: false,
    });
    await checkBalances(model, real);
  }
  toString = () =>
    `grant(${KINDS[this.kind]}, ${this.amount}, +${this.effective_in_s}s, ${this.expires_after_s}s)`;
}

class Reserve implements Command {
  constructor(
    readonly amount: bigint,
    readonly ttl_s: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    lapse(model);
    const request = {
      account: real.account,
      operation: 'unit',
      max_credits: formatCredits(this.amount),
      ttl_seconds: this.ttl_s,
    };
    const allocations = draw(model, this.amount);
    if (!allocations) {
      await expectRefusal(real.tally.reserve(request), 'insufficient_credits');
    } else {
      const view = await real.tally.reserve(request);
      expect(view.grants.map((grant) => [grant.grant_id, grant.amount])).toEqual(
        allocations.map(({ grant, amount }) => [grant.id, formatCredits(amount)]),
      );
      model.reservations.push({
        id: view.id,
        amount: this.amount,
        allocations,
        expires_at_ms: model.now_ms + this.ttl_s * 1000,
        status: 'held',
      });
    }
    await checkBalances(model, real);
  }
  toString = () => `reserve(${this.amount}, ttl ${this.ttl_s}s)`;
}

class Settle implements Command {
  constructor(
    readonly pick: number,
    readonly used: bigint,
  ) {}
  check = (model: Readonly<Model>) => model.reservations.length > 0;
  async run(model: Model, real: Real) {
    lapse(model);
    const reservation = model.reservations[this.pick % model.reservations.length]!;
    const request = { reservation: reservation.id, usage: { units: this.used.toString() } };
    if (reservation.status !== 'held') {
      await expectRefusal(real.tally.settle(request), NOT_HELD_CODES[reservation.status]);
    } else {
      const charge = await real.tally.settle(request);
      const cost = this.used < reservation.amount ? this.used : reservation.amount;
      expect(charge.credits).toBe(formatCredits(cost));
      let left = cost;
      const unused = reservation.allocations.map(({ grant, amount }) => {
        const take = amount < left ? amount : left;
        left -= take;
        return { grant, amount: amount - take };
      });
      giveBack(unused);
      reservation.status = 'settled';
      model.charges.push({ id: charge.id, credits: cost, refunded: 0n });
    }
    await checkBalances(model, real);
  }
  toString = () => `settle(#${this.pick}, ${this.used})`;
}

class Release implements Command {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.reservations.length > 0;
  async run(model: Model, real: Real) {
    lapse(model);
    const reservation = model.reservations[this.pick % model.reservations.length]!;
    if (reservation.status !== 'held') {
      await expectRefusal(
        real.tally.release({ reservation: reservation.id }),
        NOT_HELD_CODES[reservation.status],
      );
    } else {
      await real.tally.release({ reservation: reservation.id });
      giveBack(reservation.allocations);
      reservation.status = 'released';
    }
    await checkBalances(model, real);
  }
  toString = () => `release(#${this.pick})`;
}

class Charge implements Command {
  constructor(readonly amount: bigint) {}
  check = () => true;
  async run(model: Model, real: Real) {
    lapse(model);
    const request = { account: real.account, operation: 'unit', usage: { units: this.amount.toString() } };
    const allocations = draw(model, this.amount);
    if (!allocations) await expectRefusal(real.tally.charge(request), 'insufficient_credits');
    else {
      const charge = await real.tally.charge(request);
      model.charges.push({ id: charge.id, credits: this.amount, refunded: 0n });
    }
    await checkBalances(model, real);
  }
  toString = () => `charge(${this.amount})`;
}

class Refund implements Command {
  constructor(
    readonly pick: number,
    readonly amount: bigint,
  ) {}
  check = (model: Readonly<Model>) => model.charges.length > 0;
  async run(model: Model, real: Real) {
    lapse(model);
    const charge = model.charges[this.pick % model.charges.length]!;
    const request = { charge: charge.id, amount: formatCredits(this.amount), reason: 'property test' };
    if (this.amount > charge.credits - charge.refunded) {
      await expectRefusal(real.tally.refundCharge(request), 'refund_exceeds_charge');
    } else {
      const refund = await real.tally.refundCharge(request);
      charge.refunded += this.amount;
      model.grants.push({
        id: refund.grant.id,
        priority: KINDS.indexOf('bonus'),
        remaining: this.amount,
        effective_at_ms: model.now_ms,
        expires_at_ms: null,
        created: model.grants.length,
        revoked: false,
      });
    }
    await checkBalances(model, real);
  }
  toString = () => `refund(#${this.pick}, ${this.amount})`;
}

class Revoke implements Command {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.grants.length > 0;
  async run(model: Model, real: Real) {
    lapse(model);
    const grant = model.grants[this.pick % model.grants.length]!;
    const expired = grant.expires_at_ms !== null && grant.expires_at_ms <= model.now_ms;
    if (grant.revoked || expired) {
      await expectRefusal(real.tally.revokeGrant({ grant: grant.id, reason: 'test' }), 'grant_not_active');
    } else {
      await real.tally.revokeGrant({ grant: grant.id, reason: 'test' });
      grant.revoked = true;
      grant.remaining = 0n;
    }
    await checkBalances(model, real);
  }
  toString = () => `revoke(#${this.pick})`;
}

class AdvanceClock implements Command {
  constructor(readonly seconds: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    model.now_ms += this.seconds * 1000;
    real.clock.advanceSeconds(this.seconds);
    await checkBalances(model, real);
  }
  toString = () => `advance(${this.seconds}s)`;
}

class BookDueWork implements Command {
  check = () => true;
  async run(model: Model, real: Real) {
    await real.tally.bookDueWork();
    await checkBalances(model, real);
  }
  toString = () => 'bookDueWork()';
}

const micros = fc.bigInt({ min: 1n, max: 5_000_000n });
const commands = [
  fc
    // Few kinds, so grants of equal priority often meet and the expiry and age tie-breaks are exercised.
    .tuple(
      fc.constantFrom(0, 2, 4, 4, 5),
      micros,
      fc.constantFrom(0, 0, 30),
      fc.option(fc.integer({ min: 1, max: 600 }), { freq: 2 }),
    )
    .map(([kind, amount, effective, expires]) => new IssueGrant(kind, amount, effective, expires)),
  fc.tuple(micros, fc.integer({ min: 1, max: 600 })).map(([amount, ttl]) => new Reserve(amount, ttl)),
  fc.tuple(fc.nat(), fc.bigInt({ min: 0n, max: 6_000_000n })).map(([pick, used]) => new Settle(pick, used)),
  fc.nat().map((pick) => new Release(pick)),
  micros.map((amount) => new Charge(amount)),
  fc.tuple(fc.nat(), micros).map(([pick, amount]) => new Refund(pick, amount)),
  fc.nat().map((pick) => new Revoke(pick)),
  fc.integer({ min: 1, max: 400 }).map((seconds) => new AdvanceClock(seconds)),
  fc.constant(new BookDueWork()),
];

/**
 * Runs share an engine, its clock and its store, each on an account of its own; every
 * RUNS_PER_ENGINE runs the store starts over (PostgreSQL: truncated) with a new engine, so what
 * earlier runs left (due work of their accounts) stays bounded. Sharing spares each run opening
 * an engine and, on PostgreSQL, truncating every table: the runs are as many, and cheaper.
 */
const RUNS_PER_ENGINE = 100;

describe.each(dialects)('on %s', (dialect) => {
  let url = '';
  let engine: { tally: Tally; clock: TestClock } | undefined;
  let runs = 0;

  /** The engine for the next run, a new one every RUNS_PER_ENGINE runs. */
  async function engineForRun(): Promise<{ tally: Tally; clock: TestClock }> {
    if (engine && runs % RUNS_PER_ENGINE !== 0) return engine;
    await engine?.tally.close();
    let store: Store | undefined;
    if (dialect === 'postgres') {
      if (url === '') url = await createDatabase(inject('postgres_url'));
      else await truncateDatabase(url);
      store = await PostgresStore.open({ url });
    }
    engine = await openTestTally({ config: CONFIG, store });
    return engine;
  }
  afterAll(async () => {
    await engine?.tally.close();
  });

  it(`keeps every invariant and agrees with the reference model (${RUNS} runs)`, async () => {
    const seed = process.env.TALLY_PROPERTY_SEED;
    const path = process.env.TALLY_PROPERTY_PATH;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (sequence) => {
        const { tally, clock } = await engineForRun();
        const account = `acct_${runs++}`;
        await tally.putAccount({ id: account, kind: 'user' });
        const model: Model = { now_ms: clock.now_ms(), grants: [], reservations: [], charges: [] };
        await fc.asyncModelRun(() => ({ model, real: { tally, clock, account } }), sequence);
        const report = await tally.verify(undefined, { accounts: [account] });
        expect(report.problems).toEqual([]);
      }),
      {
        numRuns: RUNS,
        ...(seed ? { seed: Number(seed) } : {}),
        ...(path ? { path } : {}),
      },
    );
  }, 600_000);
});
