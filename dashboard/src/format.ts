/**
 * Readable numbers: credits with thousands separators (and up to 6 decimals, never rounded away),
 * money beside them, times in the account's timezone with the zone shown.
 */
const grouping = new Intl.NumberFormat('en-US');

/** "12345.5" → "12,345.5": the decimal string is grouped without passing through a float. */
/** Micro-credits as stored ("4000000000") → credits as shown ("4,000"), exactly. */
export function microCredits(micros: string): string {
  const value = BigInt(micros);
  const magnitude = value < 0n ? -value : value;
  const fraction = (magnitude % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return credits(`${value < 0n ? '-' : ''}${magnitude / 1_000_000n}${fraction ? `.${fraction}` : ''}`);
}

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

/** A rate of credits as a person would say it: two decimals below 100, whole above ("0.555714" → "0.56"). */
export function roughCredits(amount: string): string {
  const [whole = '0', fraction = ''] = amount.replace('-', '').split('.');
  const keep = BigInt(whole) >= 100n ? 0 : 2;
  // Half up, on the decimal digits themselves (no float in between).
  const digits = BigInt(`${whole}${fraction.padEnd(keep + 1, '0').slice(0, keep + 1)}`);
  const rounded = (digits + 5n) / 10n;
  const text = rounded.toString().padStart(keep + 1, '0');
  const shown = keep === 0 ? text : `${text.slice(0, -keep)}.${text.slice(-keep)}`.replace(/\.?0+$/, '');
  return credits(`${amount.startsWith('-') ? '-' : ''}${shown}`);
}

/** A span of days as a person would say it: "about 3 weeks", "more than a year". */
export function roughDuration(days: string): string {
  const [whole = '0'] = days.split('.');
  const count = Number(whole);
  if (count < 1) return 'less than a day';
  if (count < 2) return 'about a day';
  if (count < 14) return `about ${count} days`;
  if (count < 60) return `about ${Math.round(count / 7)} weeks`;
  if (count < 365) return `about ${Math.round(count / 30)} months`;
  return 'more than a year';
}

/** An exact decimal times a whole quantity ("16.5" × 3 → "49.5"), without a float in between. */
export function timesQuantity(amount: string, quantity: number): string {
  const [whole = '0', fraction = ''] = amount.split('.');
  const product = (BigInt(`${whole}${fraction}`) * BigInt(quantity))
    .toString()
    .padStart(fraction.length + 1, '0');
  if (fraction.length === 0) return product;
  const head = product.slice(0, product.length - fraction.length);
  const tail = product.slice(product.length - fraction.length).replace(/0+$/, '');
  return tail ? `${head}.${tail}` : head;
}
