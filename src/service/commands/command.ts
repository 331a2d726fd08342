/**
 * Commands as data. Every change Tally makes is a command: a module exporting its name, its input
 * schema, how to find the account it works on from its input, and its `run`. One runner
 * (Tally.run) does the same for each: validate, claim or look up the idempotency key, resolve the
 * account once (the group-commit hint), run in one store transaction, audit in that transaction,
 * answer. Adding a capability is adding a command module (and a route entry that names it).
 *
 * What `run` may do is set by the rules at the top of store/sql/account-memory.ts: it may
 * run more than once for one call, so it has no effect outside its transaction (checked in tests
 * by store/replay-check.ts); the rows it is handed are copies; only the first account it opens
 * is remembered.
 */
import type { z } from 'zod';
import type { TallyConfig } from '../../schema/config.ts';
import type { StoreTransaction } from '../../store/store.ts';
import type { Access } from '../access.ts';
import type { SessionEnvironment } from '../account-session.ts';
import type { TestClock } from '../clock.ts';
import type { IdGenerator } from '../ids.ts';
import type { PriceBooks } from '../price-books.ts';
import type { ReservationAccounts } from '../reservation-accounts.ts';
import type { WebhookTargetPolicy } from '../webhook-targets.ts';

/** What every command may use of the engine. */
export interface CommandEngine {
  readonly config: TallyConfig;
  readonly ids: IdGenerator;
  readonly price_books: PriceBooks;
  /** Draw-down priority of each kind. */
  readonly kind_priority: ReadonlyMap<string, number>;
  /** Secret keys and customer tokens: what signs a token, what a key's secret looks like. */
  readonly access: Access;
  readonly webhook_targets: WebhookTargetPolicy;
  readonly reservation_accounts: ReservationAccounts;
  /** The clock, when it is a test clock that commands may move (servers started with --test-clock). */
  readonly test_clock: TestClock | undefined;
}

/** One run of a command: its transaction, its instant, who calls it. */
export interface CommandContext {
  readonly engine: CommandEngine;
  readonly transaction: StoreTransaction;
  readonly now_ms: number;
  /** What an account session of this command is opened with. */
  readonly environment: SessionEnvironment;
  /** The API key the caller authenticated with (per-key budgets apply to it), if any. */
  readonly api_key_id: string | undefined;
}

export interface Command<Schema extends z.ZodType = z.ZodType, Answer = unknown> {
  /** snake_case: the idempotency keys' namespace and the audit log's action. */
  readonly name: string;
  readonly input: Schema;
  /**
   * Whether an operator's call is written to the audit log. Metering (reserve, settle, release,
   * charge) is not: each run is already recorded with its API key in the ledger, and a second row
   * for every AI request would sit on the hot path.
   */
  readonly audited: boolean;
  /** The account the command works on, as far as its input tells before it runs. */
  account?(input: z.output<Schema>, engine: CommandEngine): string | undefined;
  run(context: CommandContext, input: z.output<Schema>): Promise<Answer>;
  /** Whether this answer is worth an audit entry (default: every one); a no-op need not be. */
  audit_when?(answer: Answer): boolean;
  /**
   * What the idempotency record keeps of the answer, and so what a replay answers (default: all
   * of it). A credential is shown once and never stored in plain text: it is left out.
   */
  record?(answer: Answer): unknown;
  /** After the transaction committed (or a replay was answered): what the process must forget. */
  committed?(engine: CommandEngine, answer: Answer): void;
}

/** Declares a command; the identity function that lets TypeScript infer its types. */
export function command<Schema extends z.ZodType, Answer>(
  definition: Command<Schema, Answer>,
): Command<Schema, Answer> {
  return definition;
}

/** The answer type of a command. */
export type AnswerOf<Of> = Of extends Command<z.ZodType, infer Answer> ? Answer : never;
