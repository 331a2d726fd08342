/**
 * What every HTTP route is: method, path, who may call it, the schemas of its body and query
 * (which also make the OpenAPI document), and a handler that names the command or read it runs.
 * Routes hold no ledger logic (STYLE rule 10); each capability's are in a file of their own.
 */
import { z } from 'zod';
import { IDENTIFIER_LENGTH_MAX, PAGE_SIZE_MAX } from '../../domain/limits.ts';
import { type ResultCode, TallyError } from '../../domain/results.ts';
import { parseInput } from '../../schema/parse.ts';
import type { Principal } from '../../service/access.ts';
import type { TestClock } from '../../service/clock.ts';
import type { CommandOptions, Tally } from '../../service/tally.ts';
import type { KeyScope } from '../../store/store.ts';

export interface RouteContext {
  tally: Tally;
  test_clock: TestClock | undefined;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  /** A request header (lower-case name). */
  header(name: string): string | undefined;
  principal: Principal | null;
  /** Idempotency key, caller namespace and replay flag for the command this request runs. */
  options: CommandOptions;
  /**
   * Refuses a customer token reaching another account's data with the very answer a missing id
   * gets (`not_found`, default account_not_found), so a token cannot probe which ids exist.
   */
  ownAccount(account: string | undefined, not_found?: ResultCode): void;
  /** The team member a customer token is limited to: it sees only their runs. */
  member_scope: string | undefined;
}

export interface RouteDefinition {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI style: `/v1/accounts/{id}`. */
  path: string;
  summary: string;
  tag: string;
  /** `public`, or the least key scope that may call it. */
  access: 'public' | KeyScope;
  /** Whether a customer token may call it (always limited to its own account). */
  customer: boolean;
  /** The request body as the service validates it, minus what the path supplies. */
  body?: z.ZodType;
  /** The query parameters it takes, checked at the edge (unknown ones refused); none if absent. */
  query?: z.ZodType;
  /** What it answers (schema/answers.ts), for the OpenAPI document; an object when not given yet. */
  answer?: z.ZodType;
  idempotent?: boolean;
  /** The body as sent, unparsed (a payment provider's webhook checks its signature over the bytes). */
  raw_body?: boolean;
  handle(context: RouteContext): Promise<unknown>;
}

/** A body schema without the fields the path gives. */
export const without = <Shape extends z.ZodRawShape, Key extends keyof Shape & string>(
  schema: z.ZodObject<Shape>,
  key: Key,
) => schema.omit({ [key]: true } as never);

export function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new TallyError('invalid_request', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/**
 * A query or body as the read it feeds takes it (the read parses it itself, turning times into
 * milliseconds and amounts into decimals): checked against the schema here, so the raw value is
 * known to be the schema's input.
 */
export function checkedInput<Schema extends z.ZodType>(schema: Schema, raw: unknown): z.input<Schema> {
  parseInput(schema, raw);
  return raw as z.input<Schema>;
}

/** Query strings carry numbers as text: a page size is coerced, then must be a whole number in range. */
export const pageLimit = z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).optional();

/** A page of grants, optionally in one state. */
export const grantsQuery = z.strictObject({
  status: z.enum(['pending', 'active', 'expired', 'revoked']).optional(),
  cursor: z
    .string()
    .max(IDENTIFIER_LENGTH_MAX * 2)
    .optional(),
  limit: pageLimit,
});

export const pageQuery = z.strictObject({
  cursor: z
    .string()
    .max(IDENTIFIER_LENGTH_MAX * 2)
    .optional(),
  limit: pageLimit,
});
export const accountSearchQuery = z.strictObject({
  prefix: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  cursor: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  limit: pageLimit,
});
export const auditQuery = z.strictObject({
  account: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  cursor: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  limit: pageLimit,
});
