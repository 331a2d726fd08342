/**
 * The rule every command lives by (commands/command.ts, sql/account-memory.ts): its work
 * may run more than once for one call — PostgreSQL runs it again when a remembered account proved
 * outdated, a group commit failed or an idempotency key was taken — so it must depend on nothing
 * but what it reads in its transaction, and change nothing outside it.
 *
 * `checkingReplays` turns that rule into an assertion for tests: each transaction's work runs
 * twice, the first time rolled back, and both runs must ask the store for the same writes (or
 * fail alike). What is fresh by design on each run is masked before comparing: ids (random
 * ULIDs), the hashes that cover them, and secrets. It needs a controllable clock and one process,
 * so it is a test tool, never a production store.
 */
import { InvariantViolation } from '../domain/assert.ts';
import type { Store, StoreTransaction } from './store.ts';

/** Store methods that change something: their calls are what a run is compared by. */
const WRITE = /^(insert|update|put|append|delete|revoke|mark|complete|claim|bump|open)/;
const ID = /\b(gr|rsv|ch|rf|jtx|key|pxk|evt|whe|whd|aud|pur|prf|po|cmp|inc|dispatcher)_[0-9a-z]{16,26}\b/g;
const HASH = /\b[0-9a-f]{64}\b/g;

class RolledBack extends Error {}

/**
 * A run's writes, in order, as comparable text. A store that runs the work again itself (a
 * retry, see postgres-store.ts) calls this anew: only the last attempt's writes count.
 */
function recorder(transaction: StoreTransaction, writes: string[]): StoreTransaction {
  writes.length = 0;
  return new Proxy(transaction, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (typeof property !== 'string' || !WRITE.test(property)) return value.bind(target);
      return (...args: unknown[]) => {
        writes.push(`${property}(${masked(args)})`);
        return value.apply(target, args);
      };
    },
  });
}

function masked(args: unknown[]): string {
  return JSON.stringify(args, (key, value: unknown) =>
    /secret/.test(key) ? '<secret>' : typeof value === 'bigint' ? `${value}n` : value,
  )
    .replace(ID, '$1_<id>')
    .replace(HASH, '<hash>');
}

/**
 * One run of the work, recorded: its writes, and how the work itself failed, if it did (a failure
 * at COMMIT, such as an idempotency key another run took, is the store's, not the work's).
 */
interface Run {
  writes: string[];
  failure?: string;
}

function recorded<Result>(
  work: (transaction: StoreTransaction) => Promise<Result>,
  run: Run,
): (transaction: StoreTransaction) => Promise<Result> {
  return async (transaction) => {
    run.failure = undefined;
    try {
      return await work(recorder(transaction, run.writes));
    } catch (error) {
      run.failure = (error as Error).message;
      throw error;
    }
  };
}

export function checkingReplays(store: Store): Store & { replays_checked: number } {
  const checked = {
    dialect: store.dialect,
    writes_wait_for_commit: store.writes_wait_for_commit,
    get groups_committed() {
      return store.groups_committed;
    },
    replays_checked: 0,
    async transaction<Result>(
      work: (transaction: StoreTransaction) => Promise<Result>,
      hint?: Parameters<Store['transaction']>[1],
    ): Promise<Result> {
      const first: Run = { writes: [] };
      const rehearsal = recorded(work, first);
      await store
        .transaction(async (transaction) => {
          await rehearsal(transaction);
          throw new RolledBack();
        })
        .catch(() => undefined);
      const second: Run = { writes: [] };
      let outcome: { result: Result } | { error: unknown };
      try {
        outcome = { result: await store.transaction(recorded(work, second), hint) };
      } catch (error) {
        outcome = { error };
      }
      checked.replays_checked++;
      if (JSON.stringify(first) !== JSON.stringify(second))
        throw new InvariantViolation(
          `a command run twice wrote differently:\nfirst  ${JSON.stringify(first)}\nsecond ${JSON.stringify(second)}`,
        );
      if ('error' in outcome) throw outcome.error;
      return outcome.result;
    },
    read: store.read.bind(store),
    close: store.close.bind(store),
  };
  return checked;
}
