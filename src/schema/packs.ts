/**
 * The `packs:` and `payments:` sections of tally.config.yaml (SPEC C9): the credit packs on sale,
 * their volume tiers and bonuses, and which payment providers take the money.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { IDENTIFIER_LENGTH_MAX, PACKS_MAX, PURCHASE_QUANTITY_MAX } from '../domain/limits.ts';
import { currencyExponent, parseMinorUnits } from '../domain/money.ts';
import type { Pack } from '../domain/packs.ts';
import { creditsField, identifierField } from './fields.ts';

/** A price in one currency's major units ("9.99"), kept as minor units (999). */
const priceByCurrency = z
  .record(
    z
      .string()
      .length(3)
      .toUpperCase()
      .refine((code) => currencyExponent(code) !== undefined, 'is not an ISO 4217 currency code'),
    z.union([z.string(), z.number()]),
  )
  .transform((prices, context) => {
    const minor = new Map<string, bigint>();
    for (const [currency, amount] of Object.entries(prices)) {
      const minor_units = parseMinorUnits(amount, currency);
      if (minor_units === undefined) {
        context.addIssue({
          code: 'custom',
          message: `${currency} ${amount} is not a positive price with at most ${currencyExponent(currency)} decimals`,
        });
        return z.NEVER;
      }
      minor.set(currency, minor_units);
    }
    if (minor.size === 0) {
      context.addIssue({ code: 'custom', message: 'a pack has a price in at least one currency' });
      return z.NEVER;
    }
    return minor;
  })
  .describe('The price by ISO 4217 currency, in major units: `{ USD: "9.99" }`.');

const expiresAfterDays = z
  .number()
  .int()
  .min(1)
  .max(36_500)
  .optional()
  .describe('Days after purchase the credits expire (default: never).');

const packSchema = z.strictObject({
  id: identifierField.describe('Names the pack in purchases and auto-recharge settings.'),
  name: z.string().min(1).max(200).optional().describe('What customers see (default: the id).'),
  credits: creditsField().describe('Credits one pack gives.'),
  price: priceByCurrency,
  kind: z
    .string()
    .min(1)
    .max(IDENTIFIER_LENGTH_MAX)
    .default('purchased')
    .describe('The grant kind the credits are issued as.'),
  expires_after_days: expiresAfterDays,
  bonus: z
    .strictObject({
      credits: creditsField().describe('Bonus credits one pack gives.'),
      kind: z
        .string()
        .min(1)
        .max(IDENTIFIER_LENGTH_MAX)
        .default('bonus')
        .describe('The grant kind of the bonus, shown as such.'),
      expires_after_days: expiresAfterDays,
    })
    .optional()
    .describe('Credits given on top, in a grant of their own.'),
  volume_tiers: z
    .array(
      z.strictObject({
        from_quantity: z
          .number()
          .int()
          .min(2)
          .max(PURCHASE_QUANTITY_MAX)
          .describe('The breakpoint: buying at least this many packs at once…'),
        price: priceByCurrency.describe('…each costs this instead.'),
      }),
    )
    .default([])
    .describe('Bulk prices: breakpoints by quantity, in ascending order.'),
  refund_policy: z
    .enum(['clamp', 'debt'])
    .default('clamp')
    .describe(
      'What a refund takes back: `clamp` what is left of the pack’s credits (never below zero); `debt` also records what was already spent as debt, repaid from the next credits.',
    ),
});

export const packsSchema = z
  .array(packSchema)
  .max(PACKS_MAX)
  .default([])
  .describe(
    'Credit packs on sale, the base pack first: each pack’s discount is shown against the base pack’s unit price.',
  );

export const paymentsSchema = z
  .strictObject({
    provider: z
      .enum(['test', 'manual', 'stripe'])
      .default('test')
      .describe('The provider a purchase uses when it names none.'),
    providers: z
      .array(z.enum(['test', 'manual', 'stripe']))
      .optional()
      .describe('The providers a purchase may name (default: the default provider, and manual).'),
    stripe: z
      .strictObject({
        secret_key_env: z
          .string()
          .default('STRIPE_SECRET_KEY')
          .describe('The environment variable holding the Stripe secret key.'),
        webhook_secret_env: z
          .string()
          .default('STRIPE_WEBHOOK_SECRET')
          .describe('The environment variable holding the webhook signing secret (`whsec_…`).'),
        success_url: z.url().describe('Where Checkout sends the customer after paying.'),
        cancel_url: z.url().describe('Where Checkout sends a customer who goes back.'),
        api: z
          .strictObject({
            host: z.string().describe('The host name, e.g. 127.0.0.1.'),
            port: z.number().int().min(1).max(65_535).describe('The port.'),
            protocol: z.enum(['http', 'https']).default('https').describe('http for a local stand-in.'),
          })
          .optional()
          .describe('Another address for Stripe’s API (a local stand-in, in tests).'),
      })
      .optional()
      .describe('Stripe Checkout: needed when a purchase may use stripe.'),
  })
  .default({ provider: 'test' })
  .describe('Who takes the money for purchases.');

export type ProviderId = 'test' | 'manual' | 'stripe';

export interface PackCatalog {
  /** In the configuration's order; the first is the base pack. */
  packs: readonly Pack[];
  by_id: ReadonlyMap<string, Pack>;
  /** A short hash of the packs' terms: a purchase that names it is refused once the terms changed. */
  version: string;
}

export interface PaymentsConfig {
  provider: ProviderId;
  providers: readonly ProviderId[];
  stripe: z.output<typeof paymentsSchema>['stripe'];
}

/** The packs as the domain takes them, checked against the configured kinds. */
export function compilePacks(
  packs: z.output<typeof packsSchema>,
  kinds: readonly string[],
  fail: (message: string) => never,
): PackCatalog {
  const by_id = new Map<string, Pack>();
  for (const pack of packs) {
    if (by_id.has(pack.id)) fail(`pack ${pack.id} is listed twice`);
    for (const kind of [pack.kind, ...(pack.bonus ? [pack.bonus.kind] : [])])
      if (!kinds.includes(kind)) fail(`pack ${pack.id} uses kind ${kind}, not in kinds`);
    let previous = 1;
    for (const tier of pack.volume_tiers) {
      if (tier.from_quantity <= previous)
        fail(`pack ${pack.id}: volume tiers go up in from_quantity, each above the last`);
      previous = tier.from_quantity;
    }
    by_id.set(pack.id, {
      id: pack.id,
      name: pack.name ?? pack.id,
      credits_micros: pack.credits,
      kind: pack.kind,
      expires_after_days: pack.expires_after_days ?? null,
      price_minor: pack.price,
      bonus: pack.bonus
        ? {
            credits_micros: pack.bonus.credits,
            kind: pack.bonus.kind,
            expires_after_days: pack.bonus.expires_after_days ?? null,
          }
        : null,
      volume_tiers: pack.volume_tiers.map((tier) => ({
        from_quantity: tier.from_quantity,
        price_minor: tier.price,
      })),
      refund_policy: pack.refund_policy,
    });
  }
  const terms = JSON.stringify([...by_id.values()], (_, value) =>
    typeof value === 'bigint' ? value.toString() : value instanceof Map ? [...value] : value,
  );
  return {
    packs: [...by_id.values()],
    by_id,
    version: createHash('sha256').update(terms).digest('hex').slice(0, 12),
  };
}

export function compilePayments(
  payments: z.output<typeof paymentsSchema>,
  fail: (message: string) => never,
): PaymentsConfig {
  const providers = payments.providers ?? [...new Set([payments.provider, 'manual' as const])];
  if (!providers.includes(payments.provider))
    fail(`payments.provider ${payments.provider} is not among payments.providers`);
  if (providers.includes('stripe') && !payments.stripe)
    fail('payments: stripe is offered, so payments.stripe needs its success_url and cancel_url');
  return { provider: payments.provider, providers, stripe: payments.stripe };
}
