/**
 * Where webhooks may be sent (SPEC §6: outgoing webhooks never reach internal addresses). An
 * endpoint's URL is checked when it is registered, and the addresses its host resolves to are
 * checked again at every delivery, by the very lookup the connection uses — so a name that
 * resolves to a public address at registration and to 169.254.169.254 later is still refused.
 * Loopback targets are allowed only by the configuration's `webhooks.allow_loopback` (tests and
 * local development); private, link-local, metadata and reserved ranges never are.
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { URL_LENGTH_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';

export interface WebhookTargetPolicy {
  /** Whether 127.0.0.0/8, ::1 and `localhost` may be targets. Never in production. */
  allow_loopback: boolean;
}

/** Resolves a host name to every address it has (node:dns by default; tests give their own). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Every range that is not the public internet (IANA special-purpose registries). */
const INTERNAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  INTERNAL.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['64:ff9b::', 96], // NAT64 of IPv4 addresses
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  INTERNAL.addSubnet(network, prefix, 'ipv6');

/** Names that lead inside whatever their addresses (cloud metadata services, the machine itself). */
const INTERNAL_NAMES = [
  /^localhost$/,
  /\.localhost$/,
  /^metadata\.google\.internal$/,
  /\.internal$/,
  /\.local$/,
];

/** `::ffff:10.0.0.1` reaches 10.0.0.1: an IPv4-mapped IPv6 address is judged as its IPv4 address. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Why an address may not be a target, or null when it may. */
export function addressRefusal(raw: string, policy: WebhookTargetPolicy): string | null {
  const { address, family } = unmapped(raw);
  if (LOOPBACK.check(address, family)) return policy.allow_loopback ? null : `${raw} is a loopback address`;
  if (INTERNAL.check(address, family)) return `${raw} is a private or reserved address`;
  return null;
}

const invalidUrl = (message: string) =>
  new TallyError('webhook_url_forbidden', `url ${message}`, {
    errors: [{ field: 'url', code: 'webhook_url_forbidden', message }],
  });

/** The URL's host as the connection will see it: brackets off an IPv6 literal, lower case. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * Checks a URL when an endpoint is registered: http(s), no credentials, and a host that is not
 * internal by its address (IP literals in any notation; the URL parser writes `2130706433` and
 * `0x7f000001` as 127.0.0.1) or by its name. Returns the URL as it will be used.
 */
export function checkWebhookUrl(input: string, policy: WebhookTargetPolicy): URL {
  if (input.length > URL_LENGTH_MAX) throw invalidUrl(`must be at most ${URL_LENGTH_MAX} characters`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw invalidUrl('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidUrl('must be http or https');
  if (url.username !== '' || url.password !== '') throw invalidUrl('may not carry a user name or password');
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    const refusal = addressRefusal(host, policy);
    if (refusal) throw invalidUrl(`may not reach ${refusal}`);
    return url;
  }
  const name = host.replace(/\.$/, '');
  if (INTERNAL_NAMES.some((pattern) => pattern.test(name))) {
    const loopback_name = name === 'localhost' || name.endsWith('.localhost');
    if (!(loopback_name && policy.allow_loopback))
      throw invalidUrl(`may not reach the internal host ${name}`);
  }
  return url;
}

/**
 * The `lookup` a delivery's connection uses: it resolves the host and refuses the connection if
 * any address is internal, so what is checked is exactly what is connected to.
 */
export function checkedLookup(policy: WebhookTargetPolicy, resolve: Resolve = systemResolve) {
  return (
    hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolve(hostname).then(
      (addresses) => {
        const refused = addresses.map((entry) => addressRefusal(entry.address, policy)).find(Boolean);
        if (addresses.length === 0) return callback(new Error(`${hostname} has no address`), '');
        if (refused) return callback(new Error(`refused: ${hostname} resolves to ${refused}`), '');
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: Error) => callback(error, ''),
    );
  };
}
