/**
 * The closed set of result codes Tally answers with when it refuses a command, in one table
 * with the HTTP status each maps to (STYLE rule 4). A refusal is an expected outcome of bad
 * input or insufficient credits and changes nothing; a broken invariant is a bug and throws
 * an `InvariantViolation` instead (see assert.ts).
 */
export const resultCodes = {
  invalid_request: { status: 400, title: 'The request is malformed' },
  amount_invalid: { status: 400, title: 'An amount is not a decimal number' },
  amount_not_positive: { status: 400, title: 'An amount must be greater than zero' },
  amount_too_precise: { status: 400, title: 'An amount has more than 6 decimals' },
  amount_out_of_range: { status: 400, title: 'An amount is larger than Tally accepts' },
  timezone_invalid: { status: 400, title: 'The timezone is not an IANA timezone' },
  ttl_out_of_range: { status: 400, title: 'The reservation TTL is out of range' },
  usage_dimension_unknown: {
    status: 400,
    title: 'The usage names a dimension the operation is not priced in',
  },
  usage_required: { status: 400, title: 'The operation needs usage or max_credits to be reserved' },
  add_on_unknown: { status: 400, title: 'The add-on is not offered for this operation' },
  idempotency_key_invalid: { status: 400, title: 'The idempotency key is empty or too long' },
  account_not_found: { status: 404, title: 'No such account' },
  grant_not_found: { status: 404, title: 'No such grant' },
  reservation_not_found: { status: 404, title: 'No such reservation' },
  charge_not_found: { status: 404, title: 'No such charge' },
  operation_not_found: { status: 404, title: 'No such operation in the price book' },
  model_not_found: { status: 404, title: 'No such model for this operation' },
  kind_not_found: { status: 404, title: 'No such grant kind' },
  plan_not_found: { status: 404, title: 'No such plan' },
  subscription_not_found: { status: 404, title: 'The account has no active subscription' },
  entitlement_required: {
    status: 403,
    title: 'The operation needs an entitlement the account does not have',
  },
  price_version_not_found: { status: 404, title: 'No such price book version' },
  price_version_exists: {
    status: 409,
    title: 'The price book version exists; a published version never changes',
  },
  price_book_invalid: { status: 422, title: 'The price book is invalid' },
  account_kind_mismatch: { status: 409, title: 'An account cannot change between user and team' },
  account_closed: { status: 409, title: 'The account is closed' },
  grant_not_active: { status: 409, title: 'The grant is already expired or revoked' },
  reservation_already_settled: { status: 409, title: 'The reservation is already settled' },
  reservation_released: { status: 409, title: 'The reservation was released' },
  reservation_expired: { status: 409, title: 'The reservation expired before it was settled' },
  refund_exceeds_charge: { status: 409, title: 'The refund is larger than what is left of the charge' },
  grant_limit_reached: { status: 409, title: 'The account holds too many open grants' },
  idempotency_key_reused: { status: 409, title: 'The idempotency key was used with a different request' },
  insufficient_credits: { status: 402, title: 'Not enough usable credits' },
  unauthenticated: { status: 401, title: 'A valid secret key or customer token is required' },
  forbidden: { status: 403, title: 'The key or token may not do this' },
  limit_raise_forbidden: {
    status: 403,
    title: 'A customer may only set a limit lower than the one the operator or configuration set',
  },
  not_found: { status: 404, title: 'No such resource' },
  method_not_allowed: { status: 405, title: 'The resource does not accept this method' },
  payload_too_large: { status: 413, title: 'The request body is larger than 1 MiB' },
  webhook_url_forbidden: {
    status: 400,
    title: 'Webhook URLs must be http(s), without credentials, and never reach internal addresses',
  },
  api_key_not_found: { status: 404, title: 'No such API key' },
  test_clock_disabled: { status: 404, title: 'The server runs without --test-clock' },
  test_clock_backwards: { status: 400, title: 'A test clock only moves forward' },
  test_clock_out_of_range: { status: 400, title: 'A test clock cannot be moved past the year 2999' },
  proxy_key_not_found: { status: 404, title: 'No such proxy key' },
  unknown_model: { status: 404, title: 'The metering proxy routes no such model' },
  proxy_not_configured: {
    status: 404,
    title: 'This Tally has no metering proxy (no proxy: in its configuration)',
  },
  upstream_unreachable: { status: 502, title: "The model's provider could not be reached" },
  pack_not_found: { status: 404, title: 'No such credit pack' },
  purchase_not_found: { status: 404, title: 'No such purchase' },
  currency_not_offered: { status: 422, title: 'The pack is not sold in that currency' },
  provider_not_offered: { status: 422, title: 'Purchases may not use that payment provider' },
  pack_terms_changed: { status: 409, title: 'The packs changed since they were shown: show them again' },
  purchase_already_paid: { status: 409, title: 'The purchase was already paid by another payment' },
  purchase_not_pending: { status: 409, title: 'The purchase is no longer waiting for payment' },
  purchase_not_refundable: { status: 409, title: 'The purchase is not paid, so it cannot be refunded' },
  refund_exceeds_purchase: { status: 409, title: 'The refund is larger than what is left of the purchase' },
  monthly_max_below_pack: { status: 422, title: 'The monthly ceiling is below one pack' },
  provider_signature_invalid: { status: 400, title: 'The payment provider’s signature does not verify' },
  provider_event_conflict: {
    status: 409,
    title: 'A provider event of this id was already received with another body',
  },
  provider_failed: { status: 502, title: 'The payment provider refused or could not be reached' },
  creator_not_found: { status: 422, title: 'The creator named for the run is not an account' },
  payout_exceeds_payable: {
    status: 409,
    title: 'The payout is larger than what the creator earned past the hold, less what was paid',
  },
  payout_as_credits_unavailable: {
    status: 422,
    title: 'Payouts as credits need creators.earnings_kind in the configuration',
  },
  account_not_team: { status: 422, title: 'The account is not a team' },
  member_not_found: { status: 404, title: 'No such member of the team' },
  member_not_in_team: { status: 422, title: 'The member named is not a member of this team' },
  member_is_team: { status: 422, title: 'A team member is a user account, not a team' },
  team_needs_owner: { status: 409, title: 'A team keeps at least one owner' },
  compensation_exceeds_charges: {
    status: 409,
    title: 'The compensation is more than what is left of the charges after refunds and compensations',
  },
} as const satisfies Record<string, { status: number; title: string }>;

export type ResultCode = keyof typeof resultCodes;

/** One offending input field, for refusals caused by validation. */
export interface FieldError {
  field: string;
  code: ResultCode;
  message: string;
}

/**
 * A refusal: the command was not applied and nothing changed. Service methods reject with
 * this, so a refusal thrown inside a store transaction also rolls that transaction back.
 */
export class TallyError extends Error {
  readonly code: ResultCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  /** Extra members of the problem document (needed, available, blocked_by, options…). */
  readonly extensions: Record<string, unknown>;

  constructor(
    code: ResultCode,
    detail?: string,
    options: { errors?: FieldError[]; extensions?: Record<string, unknown> } = {},
  ) {
    super(detail ?? resultCodes[code].title);
    this.name = 'TallyError';
    this.code = code;
    this.status = resultCodes[code].status;
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
  }
}

export function isTallyError(error: unknown): error is TallyError {
  return error instanceof TallyError;
}
