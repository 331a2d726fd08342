/** What the stores' group commits share: a command waiting for its group, and how a group waits for more. */
import type { StoreTransaction } from './store.ts';

/** A command waiting to be applied in a group; its caller is answered once the group has ended. */
export interface PendingCommand {
  work: (transaction: StoreTransaction) => Promise<unknown>;
  /** The account it works on, where the caller said (CommandHint). */
  account?: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * One turn of the event loop, before a group is formed: commands arriving together join it.
 * Taken at load, so an application's fake timers (installed later, in its tests) cannot stall writes.
 */
export const nextEventLoopTurn = setImmediate;
