/**
 * Field schemas used by every command schema. Each one that can fail for a reason Tally names
 * attaches that result code, so a refusal says exactly what was wrong with which field.
 */
import { z } from 'zod';
import { canonicalTimezone } from '../domain/calendar.ts';
import { parseCredits } from '../domain/credits.ts';
import { parseDecimal } from '../domain/decimal.ts';
import {
  IDENTIFIER_LENGTH_MAX,
  METADATA_KEYS_MAX,
  METADATA_VALUE_LENGTH_MAX,
  REASON_LENGTH_MAX,
  RESERVATION_TTL_SECONDS_MAX,
  RESERVATION_TTL_SECONDS_MIN,
  TAGS_MAX,
  USAGE_DECIMALS_MAX,
  USAGE_DIMENSIONS_MAX,
  USAGE_QUANTITY_MAX,
} from '../domain/limits.ts';
import type { ResultCode } from '../domain/results.ts';

/** The key under which a custom zod issue carries its Tally result code. */
export const RESULT_CODE_PARAM = 'tally_code';

function issue(code: ResultCode, message: string) {
  return { code: 'custom' as const, message, params: { [RESULT_CODE_PARAM]: code } };
}

const creditsInput = z.union([z.string(), z.number()]);

/** Credits as a decimal string or JSON integer → micro-credits (bigint); positive. */
export const creditsField = (options: { allow_zero?: boolean } = {}) =>
  creditsInput.transform((value, context) => {
    const parsed = parseCredits(value, options);
    if (parsed.ok) return parsed.micros;
    const messages = {
      amount_invalid: 'must be a decimal number of credits, such as "12.5"',
      amount_not_positive: options.allow_zero ? 'must not be negative' : 'must be greater than zero',
      amount_too_precise: 'must have at most 6 decimals',
      amount_out_of_range: 'must be at most 1,000,000,000 credits',
    } as const;
    context.addIssue(issue(parsed.code, messages[parsed.code]));
    return z.NEVER;
  });

export const identifierField = z
  .string()
  .min(1)
  .max(IDENTIFIER_LENGTH_MAX)
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'may contain letters, digits and _ . : @ - only');

export const reasonField = z.string().min(1).max(REASON_LENGTH_MAX);

export const timezoneField = z
  .string()
  .max(IDENTIFIER_LENGTH_MAX)
  // Stored as its canonical IANA name (`utc` → `UTC`, `Europe/paris` → `Europe/Paris`), as typed nowhere.
  .transform((value, context) => {
    const canonical = canonicalTimezone(value);
    if (canonical !== undefined) return canonical;
    context.addIssue(issue('timezone_invalid', `${value} is not an IANA timezone`));
    return z.NEVER;
  });

/** RFC 3339 timestamp → epoch milliseconds. */
export const timestampField = z.iso.datetime({ offset: true }).transform((value) => Date.parse(value));

export const metadataField = z
  .record(z.string().max(IDENTIFIER_LENGTH_MAX), z.string().max(METADATA_VALUE_LENGTH_MAX))
  .refine((value) => Object.keys(value).length <= METADATA_KEYS_MAX, `at most ${METADATA_KEYS_MAX} keys`);

/** What a run is about, for history, analytics and support (SPEC C13). */
export const runMetadataField = z.strictObject({
  thread: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  project: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  app: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  /** The creator whose prompt or app the run is of (an account): their share follows the operation's creator_share. */
  author: identifierField.optional(),
  /** The prompt run, for a creator's earnings by prompt. */
  prompt: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  request_id: z.string().max(IDENTIFIER_LENGTH_MAX).optional(),
  tags: z.array(z.string().max(IDENTIFIER_LENGTH_MAX)).max(TAGS_MAX).optional(),
});

const usageQuantity = z.union([z.string(), z.number()]).transform((value, context) => {
  const parsed = parseDecimal(value, USAGE_DECIMALS_MAX);
  if (!parsed.ok || parsed.value.units < 0n) {
    context.addIssue(issue('invalid_request', 'must be a non-negative number with at most 6 decimals'));
    return z.NEVER;
  }
  if (parsed.value.units > USAGE_QUANTITY_MAX * 10n ** BigInt(parsed.value.scale)) {
    context.addIssue(issue('invalid_request', `must be at most ${USAGE_QUANTITY_MAX}`));
    return z.NEVER;
  }
  return parsed.value;
});

/** Usage of one run by dimension: `{ input_tokens: 1200, output_tokens: 300 }`. */
export const usageField = z
  .record(identifierField, usageQuantity)
  .refine(
    (value) => Object.keys(value).length <= USAGE_DIMENSIONS_MAX,
    `at most ${USAGE_DIMENSIONS_MAX} dimensions`,
  )
  .transform((value) => new Map(Object.entries(value)));

export const ttlSecondsField = z
  .number()
  .int()
  .superRefine((value, context) => {
    if (value < RESERVATION_TTL_SECONDS_MIN || value > RESERVATION_TTL_SECONDS_MAX) {
      context.addIssue(
        issue(
          'ttl_out_of_range',
          `must be between ${RESERVATION_TTL_SECONDS_MIN} and ${RESERVATION_TTL_SECONDS_MAX} seconds`,
        ),
      );
    }
  });

export const outcomeField = z.enum(['succeeded', 'failed', 'rejected']);

/** A price factor of a custom plan: a decimal above 0 and at most 10, 6 decimals at most ("0.8": 20 % off). */
export const priceFactorField = z.union([z.string(), z.number()]).transform((value, context) => {
  const parsed = parseDecimal(value, 6);
  if (
    !parsed.ok ||
    parsed.value.units <= 0n ||
    parsed.value.units > 10n * 10n ** BigInt(parsed.value.scale)
  ) {
    context.addIssue(issue('invalid_request', 'must be a decimal above 0 and at most 10, such as "0.8"'));
    return z.NEVER;
  }
  return parsed.value;
});
