/**
 * Readable numbers: credits with thousands separators (and up to 6 decimals, never rounded away),
 * money beside them, times in the account's timezone with the zone shown.
 */
const grouping = new Intl.NumberFormat('en-US');

/** "12345.5" → "12,345.5": the decimal string is grouped without passing through a float. */
export function credits(amount: string): string {
  const negative = amount.startsWith('-');
  const [whole = '0', fraction] = (negative ? amount.slice(1) : amount).split('.');
  const grouped = grouping.format(BigInt(whole));
  return `${negative ? '−' : ''}${grouped}${fraction ? `.${fraction}` : ''}`;
}

export function money(value: { currency: string; amount: string }): string {
  const [whole = '0', fraction = ''] = value.amount.split('.');
  const cents = fraction.padEnd(2, '0');
  return `${value.currency} ${grouping.format(BigInt(whole))}.${cents}`;
}

export function dateTime(iso: string, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(new Date(iso));
}

export function date(iso: string, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  }).format(new Date(iso));
}

/** The short name of a timezone at an instant, e.g. CET or GMT+5:30. */
export function zoneName(timezone: string, iso = new Date().toISOString()): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'short' }).formatToParts(
    new Date(iso),
  );
  return parts.find((part) => part.type === 'timeZoneName')?.value ?? timezone;
}

/** The local calendar day of an instant, YYYY-MM-DD. */
export function localDay(iso: string, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(iso));
}
