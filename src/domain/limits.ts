/**
 * Every bound Tally enforces, in one place (STYLE rule 7). Units are last in each name.
 * Changing a number here changes it everywhere: validation, schemas and docs read these.
 */

/** One credit is one million micro-credits; every amount in the engine is an integer of these. */
export const MICROS_PER_CREDIT = 1_000_000n;
/** Credits in JSON carry at most this many decimals, so they map exactly onto micro-credits. */
export const CREDIT_DECIMALS_MAX = 6;
/** The largest micro-credit amount SQL can hold at all (signed 64-bit). */
export const SIGNED_64_MAX = 2n ** 63n - 1n;
/**
 * The largest single amount (grant, charge, reservation): one billion credits. Together with
 * GRANTS_PER_ACCOUNT_MAX it keeps every sum over an account's journal far below 2^63.
 */
export const AMOUNT_MICROS_MAX = 1_000_000_000n * MICROS_PER_CREDIT;
/** Grants an account may hold that are not yet closed (expired or revoked). */
export const OPEN_GRANTS_PER_ACCOUNT_MAX = 1_000;

/** Decimal places a rate (credits per unit) may have: 0.000000000001 credits per token is still exact. */
export const RATE_DECIMALS_MAX = 12;
/** Decimal places a usage quantity may have (seconds of video, say). */
export const USAGE_DECIMALS_MAX = 6;
/** Largest usage quantity of one dimension in one run. */
export const USAGE_QUANTITY_MAX = 1_000_000_000_000n;
/** Dimensions one usage record may name. */
export const USAGE_DIMENSIONS_MAX = 32;

export const RESERVATION_TTL_SECONDS_DEFAULT = 300;
export const RESERVATION_TTL_SECONDS_MIN = 1;
export const RESERVATION_TTL_SECONDS_MAX = 3_600;

export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
/** Operator-given identifiers: account ids, operation ids, kinds, models. */
export const IDENTIFIER_LENGTH_MAX = 128;
export const REASON_LENGTH_MAX = 500;
export const METADATA_KEYS_MAX = 32;
export const METADATA_VALUE_LENGTH_MAX = 500;
export const TAGS_MAX = 16;

export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 200;

/** Rows one background pass books before it commits and starts the next batch. */
export const DUE_WORK_BATCH_MAX = 500;

/** Raw input text an estimate may count tokens of (characters). */
export const ESTIMATE_INPUT_TEXT_LENGTH_MAX = 2_000_000;
export const MAX_OUTPUT_TOKENS_MAX = 10_000_000;
/**
 * The longest piece of text the tokenizer is given at once: its merging is quadratic in the
 * length of a run without spaces, so pieces keep an estimate's cost linear (service/tokens.ts).
 */
export const TOKENIZER_PIECE_CHARACTERS_MAX = 1_024;
/** Characters counted between two turns given back to the event loop. */
export const TOKENIZER_YIELD_CHARACTERS = 65_536;
/** How far back "typical usage" looks, and how many of the account's charges it reads at most. */
export const TYPICAL_USAGE_WINDOW_DAYS = 30;
/**
 * Spend is kept per quarter hour for limits (store: spend_buckets). Every timezone's midnight falls
 * on a quarter hour (offsets are whole quarters: +5:30, +5:45), so day, week and month windows are
 * whole buckets; a window that starts inside one reads that quarter's charges.
 */
export const SPEND_BUCKET_MS = 15 * 60_000;
export const TYPICAL_USAGE_CHARGES_MAX = 500;
/** The burn rate behind runway is the average over this many days. */
export const BURN_RATE_WINDOW_DAYS = 7;

/** Customer tokens are short-lived: an hour unless asked otherwise, a day at most. */
export const CUSTOMER_TOKEN_TTL_SECONDS_DEFAULT = 3_600;
export const CUSTOMER_TOKEN_TTL_SECONDS_MAX = 86_400;

/**
 * How long a process trusts a secret key it has already checked. A key revoked through another
 * process stops working within this time (at once in the process that revoked it).
 */
export const API_KEY_CACHE_SECONDS = 5;
/** Secret keys remembered per process at most; past it the memory starts over. */
export const API_KEY_CACHE_ENTRIES_MAX = 10_000;
/**
 * Reservations whose account a process remembers, so settling one opens its account at once
 * instead of reading the reservation first. A reservation never changes account, so the memory
 * cannot go stale; past this many it starts over.
 */
export const RESERVATION_ACCOUNTS_REMEMBERED_MAX = 100_000;
/**
 * Timezone names remembered once checked (there are some 600 IANA zones, each in a few
 * spellings); past this many a name is checked anew each time, as before any was remembered.
 */
export const TIMEZONE_NAMES_REMEMBERED_MAX = 2_000;
/** Request bodies above this are refused with 413 before they are read. */
export const REQUEST_BODY_BYTES_MAX = 1_048_576;

/** Rows a CSV export or a usage report reads at most; ask for a narrower time range beyond that. */
export const HISTORY_ROWS_MAX = 100_000;

/** Webhook retries: the wait after each failed attempt; the last one repeats until the window closes. */
export const WEBHOOK_BACKOFF_SECONDS = [5, 30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800] as const;
/** A delivery that has not succeeded this long after its event is given up. */
export const WEBHOOK_RETRY_WINDOW_MS = 24 * 3_600_000;
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** How long a dispatcher owns the deliveries it claimed; well over one attempt's timeout. */
export const WEBHOOK_LEASE_MS = 60_000;
/** Events fanned out, and deliveries attempted, per dispatcher pass. */
export const WEBHOOK_BATCH_MAX = 100;
export const WEBHOOK_ENDPOINTS_MAX = 50;
/** Deliveries one dispatcher attempts at once, over all endpoints and to any one endpoint. */
export const WEBHOOK_CONCURRENT_DELIVERIES_MAX = 32;
export const WEBHOOK_CONCURRENT_DELIVERIES_PER_ENDPOINT_MAX = 4;
export const URL_LENGTH_MAX = 2_048;

/**
 * The latest time a test clock may be moved to. Calendars, timezones and ISO dates are exact far
 * beyond it, and every instant up to it fits the store's integer columns.
 */
export const TEST_CLOCK_LATEST_MS = Date.parse('2999-12-31T23:59:59Z');

/** Commands one group commit applies in a single transaction at most (SQLite). */
export const GROUP_COMMIT_MAX = 256;

/** The most output tokens a proxied call may ask for; a model's own ceiling (proxy config) clamps below it. */
export const PROXY_MAX_TOKENS_LIMIT = 10_000_000;
/** Tokens a chat message costs beyond its text (role and separators), as OpenAI counts them. */
export const PROXY_TOKENS_PER_MESSAGE = 3;
/** Images one proxied generation call may ask for. */
export const PROXY_IMAGES_MAX = 10;

// Purchases (SPEC C9).
/** Packs a configuration may offer. */
export const PACKS_MAX = 50;
/** The most packs one purchase buys. */
export const PURCHASE_QUANTITY_MAX = 100;
/** A unit price per credit is shown to this many decimals of the currency's major unit. */
export const UNIT_PRICE_DECIMALS = 6;
/** A pending purchase not paid within this long expires (a Checkout Session lasts a day). */
export const PURCHASE_PENDING_HOURS = 24;
/** Auto-recharge disables itself after this many failed attempts in a row. */
export const AUTO_RECHARGE_FAILURES_MAX = 3;
/** Refunds of one purchase. */
export const PURCHASE_REFUNDS_MAX = 20;
