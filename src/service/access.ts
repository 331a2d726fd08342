/**
 * Who may call Tally (SPEC §6). Secret keys (`sk_…`) carry a scope — `admin`, `write` or
 * `read` — and are stored only as SHA-256 hashes: the secret is shown once, when the key is
 * made. Customer tokens (`ct_…`) are signed with a server secret (HMAC-SHA-256), expire
 * within a day, and see one account only.
 */

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import {
  API_KEY_CACHE_ENTRIES_MAX,
  API_KEY_CACHE_SECONDS,
  CUSTOMER_TOKEN_TTL_SECONDS_DEFAULT,
  CUSTOMER_TOKEN_TTL_SECONDS_MAX,
  PAGE_SIZE_MAX,
} from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { apiKeyAnswer, proxyKeyAnswer } from '../schema/answers.ts';
import type { ApiKeyRow, KeyScope, ProxyKeyRow, Store, StoreTransaction } from '../store/store.ts';
import type { Clock } from './clock.ts';
import type { IdGenerator } from './ids.ts';
import { type Page, pageOf, pageSize } from './reads/page.ts';
import { isoTime } from './views.ts';

export type Principal =
  | { kind: 'key'; key_id: string; scope: KeyScope }
  /** `member`: a token minted for a team member sees the team's balance and only their own runs. */
  | { kind: 'customer'; account: string; member: string | null; expires_at_ms: number }
  /** An end user's key for the metering proxy (`pk_…`): it pays from its account, and calls nothing else. */
  | { kind: 'proxy'; account: string; proxy_key_id: string };

export type ApiKeyView = z.infer<typeof apiKeyAnswer>;

const TOKEN_SIGNING_SECRET = 'customer_token_signing';
/** A customer token: base64url claims, a dot, and the base64url HMAC-SHA-256 of the claims (43 characters). */
const CUSTOMER_TOKEN_SHAPE = /^ct_([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/;
const SCOPE_RANK: Record<KeyScope, number> = { read: 0, write: 1, admin: 2 };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const base64url = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64url');

/** What a customer token says, signed: whose it is, until when, since when, and which key minted it. */
interface TokenClaims {
  account: string;
  expires_at_ms: number;
  issued_at_ms?: number;
  /** The secret key that minted it (null when the library or CLI did). */
  key?: string | null;
  /** The team member it was minted for, when the account is a team. */
  member?: string;
}

export function scopeAllows(scope: KeyScope, needed: KeyScope): boolean {
  return SCOPE_RANK[scope] >= SCOPE_RANK[needed];
}

function keyView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    scope: row.scope,
    name: row.name,
    secret_prefix: row.secret_prefix,
    created_at: isoTime(row.created_at_ms),
    revoked_at: row.revoked_at_ms === null ? null : isoTime(row.revoked_at_ms),
  };
}

/** Writes a new secret key (or finds the one `secret` already is) and answers it with its secret. */
export async function insertApiKey(
  transaction: StoreTransaction,
  ids: IdGenerator,
  request: { scope: KeyScope; name: string; secret?: string | undefined },
  now_ms: number,
): Promise<ApiKeyView & { secret: string }> {
  const secret = request.secret ?? `sk_${request.scope}_${base64url(randomBytes(24))}`;
  if (!/^sk_[A-Za-z0-9_-]{16,200}$/.test(secret)) {
    throw new TallyError(
      'invalid_request',
      'a secret key is sk_ followed by 16 to 200 letters, digits, _ or -',
    );
  }
  const secret_hash = sha256(secret);
  const existing = await transaction.getApiKeyByHash(secret_hash);
  if (existing) return { ...keyView(existing), secret };
  const row: ApiKeyRow = {
    id: ids.next('key', now_ms),
    secret_hash,
    secret_prefix: secret.slice(0, 12),
    scope: request.scope,
    name: request.name,
    created_at_ms: now_ms,
    revoked_at_ms: null,
  };
  await transaction.insertApiKey(row);
  return { ...keyView(row), secret };
}

export type ProxyKeyView = z.infer<typeof proxyKeyAnswer>;

const proxyKeyView = (row: ProxyKeyRow): ProxyKeyView => ({
  id: row.id,
  account: row.account_id,
  name: row.name,
  secret_prefix: row.secret_prefix,
  created_at: isoTime(row.created_at_ms),
  revoked_at: row.revoked_at_ms === null ? null : isoTime(row.revoked_at_ms),
});

/** Writes a new proxy key for an account and answers it with its secret (shown this once). */
export async function insertProxyKey(
  transaction: StoreTransaction,
  ids: IdGenerator,
  request: { account: string; name: string },
  now_ms: number,
): Promise<ProxyKeyView & { secret: string }> {
  const secret = `pk_${base64url(randomBytes(24))}`;
  const row: ProxyKeyRow = {
    id: ids.next('pxk', now_ms),
    account_id: request.account,
    secret_hash: sha256(secret),
    secret_prefix: secret.slice(0, 10),
    name: request.name,
    created_at_ms: now_ms,
    revoked_at_ms: null,
  };
  await transaction.insertProxyKey(row);
  return { ...proxyKeyView(row), secret };
}

/** An account's proxy keys, a page at a time (never their secrets). */
export async function listProxyKeys(
  transaction: StoreTransaction,
  account_id: string,
  query: { cursor?: string; limit?: number },
): Promise<Page<ProxyKeyView>> {
  const limit = pageSize(query.limit);
  const rows = await transaction.listProxyKeys(account_id, { after: query.cursor, limit: limit + 1 });
  const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
  return { data: page.map(proxyKeyView), next_cursor };
}

/** Revokes a proxy key; `already_revoked` when it was before. */
export async function revokeProxyKey(
  transaction: StoreTransaction,
  id: string,
  now_ms: number,
): Promise<ProxyKeyView & { already_revoked: boolean }> {
  const outcome = await transaction.revokeProxyKey(id, now_ms);
  if (outcome === 'not_found') throw new TallyError('proxy_key_not_found', `no proxy key ${id}`);
  const row = (await transaction.getProxyKey(id))!;
  return { ...proxyKeyView(row), already_revoked: outcome === 'already_revoked' };
}

/** Revokes a key and every customer token it minted; `already_revoked` when it was before. */
export async function revokeApiKey(
  transaction: StoreTransaction,
  id: string,
  now_ms: number,
): Promise<{ id: string; revoked: true; already_revoked: boolean }> {
  const outcome = await transaction.revokeApiKey(id, now_ms);
  if (outcome === 'not_found') throw new TallyError('api_key_not_found', `no API key ${id}`);
  if (outcome === 'revoked') await transaction.revokeCustomerTokens('key', id, now_ms);
  return { id, revoked: true, already_revoked: outcome === 'already_revoked' };
}

const signed = (payload: string, secret: string) =>
  createHmac('sha256', secret).update(payload).digest('base64url');

/** The secret customer tokens are signed with, read in `transaction` (made there the first time). */
async function signingSecretIn(transaction: StoreTransaction, now_ms: number): Promise<string> {
  return (
    (await transaction.getServerSecret(TOKEN_SIGNING_SECRET)) ??
    (await transaction.putServerSecretOnce(TOKEN_SIGNING_SECRET, base64url(randomBytes(32)), now_ms))
  );
}

export class Access {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  /**
   * Makes a key and returns its secret, which is never shown again. Given a `secret` (say
   * TALLY_ADMIN_KEY), registers that one instead; registering it again changes nothing.
   */
  async createKey(request: {
    scope: KeyScope;
    name: string;
    secret?: string;
  }): Promise<ApiKeyView & { secret: string }> {
    return this.store.transaction((transaction) =>
      insertApiKey(transaction, this.ids, request, this.clock.now_ms()),
    );
  }

  /** Keys in creation order, a page at a time. */
  async listKeys(query: { cursor?: string; limit?: number } = {}): Promise<Page<ApiKeyView>> {
    const limit = pageSize(query.limit);
    const rows = await this.store.read((transaction) =>
      transaction.listApiKeys({ after: query.cursor, limit: limit + 1 }),
    );
    const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
    return { data: page.map(keyView), next_cursor };
  }

  /** An account's proxy keys, a page at a time (never their secrets). */
  async listProxyKeys(
    account_id: string,
    query: { cursor?: string; limit?: number } = {},
  ): Promise<Page<ProxyKeyView>> {
    return this.store.read(async (transaction) => {
      if (!(await transaction.getAccount(account_id)))
        throw new TallyError('account_not_found', `no account ${account_id}`);
      return listProxyKeys(transaction, account_id, query);
    });
  }

  /** Every key, page after page (a database has a handful; this is for the CLI's checks). */
  async *allKeys(): AsyncGenerator<ApiKeyView> {
    for (let cursor: string | undefined; ; ) {
      const page = await this.listKeys({ cursor, limit: PAGE_SIZE_MAX });
      yield* page.data;
      if (page.next_cursor === null) return;
      cursor = page.next_cursor;
    }
  }

  /** Revokes a key, and every customer token it minted; true if this call revoked it, false if it already was. */
  async revokeKey(id: string): Promise<boolean> {
    const { already_revoked } = await this.store.transaction((transaction) =>
      revokeApiKey(transaction, id, this.clock.now_ms()),
    );
    this.forgetChecked();
    return !already_revoked;
  }

  /** Forgets the keys and token revocations this process checked: a revocation here applies at once. */
  forgetChecked(): void {
    this.checked_keys.clear();
    this.checked_revocations.clear();
  }

  /**
   * Revocation times this process has read, by account and minting key, trusted as long as a
   * checked secret key (API_KEY_CACHE_SECONDS): a revocation through another process takes
   * effect here within that time, at once in the process that made it.
   */
  private readonly checked_revocations = new Map<
    string,
    { revocations: { account_ms: number | null; key_ms: number | null }; until: number }
  >();

  private async isRevoked(claims: TokenClaims): Promise<boolean> {
    const cache_key = `${claims.account}\u0000${claims.key ?? ''}`;
    let checked = this.checked_revocations.get(cache_key);
    if (!checked || checked.until <= performance.now()) {
      const revocations = await this.store.read((transaction) =>
        transaction.customerTokenRevocations(claims.account, claims.key ?? null),
      );
      if (this.checked_revocations.size >= API_KEY_CACHE_ENTRIES_MAX) this.checked_revocations.clear();
      checked = { revocations, until: performance.now() + API_KEY_CACHE_SECONDS * 1000 };
      this.checked_revocations.set(cache_key, checked);
    }
    // A token from before issued_at was a claim counts as issued at the start of time.
    const issued_at_ms = claims.issued_at_ms ?? 0;
    const { account_ms, key_ms } = checked.revocations;
    return (account_ms !== null && issued_at_ms <= account_ms) || (key_ms !== null && issued_at_ms <= key_ms);
  }

  /**
   * Secret keys this process has checked, by hash, so a request does not pay a store read to
   * authenticate. Measured on the wall clock (not the engine's, which tests move): this is
   * about caching, not about the rules.
   */
  private readonly checked_keys = new Map<string, { principal: Principal; until: number }>();

  /**
   * The principal a stored key (secret or proxy) stands for: from what this process checked in
   * the last API_KEY_CACHE_SECONDS, else read by the secret's hash; undefined when revoked or unknown.
   */
  private async storedKeyPrincipal(
    credential: string,
    lookup: (transaction: StoreTransaction, hash: string) => Promise<Principal | undefined>,
  ): Promise<Principal | undefined> {
    const hash = sha256(credential);
    const checked = this.checked_keys.get(hash);
    if (checked && checked.until > performance.now()) return checked.principal;
    const principal = await this.store.read((transaction) => lookup(transaction, hash));
    if (!principal) {
      this.checked_keys.delete(hash);
      return undefined;
    }
    if (this.checked_keys.size >= API_KEY_CACHE_ENTRIES_MAX) this.checked_keys.clear();
    this.checked_keys.set(hash, { principal, until: performance.now() + API_KEY_CACHE_SECONDS * 1000 });
    return principal;
  }

  private secretKeyPrincipal(credential: string): Promise<Principal | undefined> {
    return this.storedKeyPrincipal(credential, async (transaction, hash) => {
      const row = await transaction.getApiKeyByHash(hash);
      return row && row.revoked_at_ms === null
        ? { kind: 'key', key_id: row.id, scope: row.scope }
        : undefined;
    });
  }

  /** A proxy key's principal, checked as secret keys are (and trusted as long). */
  private proxyKeyPrincipal(credential: string): Promise<Principal | undefined> {
    return this.storedKeyPrincipal(credential, async (transaction, hash) => {
      const row = await transaction.getProxyKeyByHash(hash);
      return row && row.revoked_at_ms === null
        ? { kind: 'proxy', account: row.account_id, proxy_key_id: row.id }
        : undefined;
    });
  }

  /** Loaded once per process: every process sharing the store agrees on it, and it never changes. */
  private signing_secret: Promise<string> | undefined;

  private signingSecret(): Promise<string> {
    this.signing_secret ??= (async () => {
      const stored = await this.store.read((transaction) =>
        transaction.getServerSecret(TOKEN_SIGNING_SECRET),
      );
      if (stored) return stored;
      return this.store.transaction((transaction) =>
        transaction.putServerSecretOnce(
          TOKEN_SIGNING_SECRET,
          base64url(randomBytes(32)),
          this.clock.now_ms(),
        ),
      );
    })();
    this.signing_secret.catch(() => {
      this.signing_secret = undefined;
    });
    return this.signing_secret;
  }

  private async sign(payload: string): Promise<string> {
    return signed(payload, await this.signingSecret());
  }

  /**
   * A token that sees and acts on `account` only, until it expires, its account's tokens are
   * revoked, or the key that minted it (`minted_by`) is revoked.
   */
  async mintCustomerToken(
    account: string,
    ttl_seconds = CUSTOMER_TOKEN_TTL_SECONDS_DEFAULT,
    minted_by: string | null = null,
    /** Inside a command's transaction, the signing secret is read (or made) in it. */
    transaction?: StoreTransaction,
    /** The team member it is for (checked by the caller to be one). */
    member: string | null = null,
  ) {
    if (!Number.isInteger(ttl_seconds) || ttl_seconds < 1 || ttl_seconds > CUSTOMER_TOKEN_TTL_SECONDS_MAX) {
      throw new TallyError(
        'ttl_out_of_range',
        `a customer token lives 1 to ${CUSTOMER_TOKEN_TTL_SECONDS_MAX} seconds`,
      );
    }
    const issued_at_ms = this.clock.now_ms();
    const expires_at_ms = issued_at_ms + ttl_seconds * 1000;
    const claims: TokenClaims = {
      account,
      expires_at_ms,
      issued_at_ms,
      key: minted_by,
      ...(member === null ? {} : { member }),
    };
    const payload = base64url(JSON.stringify(claims));
    return {
      token: `ct_${payload}.${transaction ? signed(payload, await signingSecretIn(transaction, this.clock.now_ms())) : await this.sign(payload)}`,
      account,
      member,
      expires_at: isoTime(expires_at_ms),
    };
  }

  /** The principal a bearer credential stands for, or undefined when it is unknown, revoked, forged or expired. */
  async authenticate(credential: string): Promise<Principal | undefined> {
    if (credential.startsWith('sk_')) return this.secretKeyPrincipal(credential);
    if (credential.startsWith('pk_')) return this.proxyKeyPrincipal(credential);
    if (credential.startsWith('ct_')) {
      // Exactly ct_<payload>.<signature>: nothing before, between or after is tolerated.
      const parts = CUSTOMER_TOKEN_SHAPE.exec(credential);
      if (!parts) return undefined;
      const [, payload, signature] = parts as unknown as [string, string, string];
      const expected = Buffer.from(await this.sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
      if (claims.expires_at_ms <= this.clock.now_ms()) return undefined;
      if (await this.isRevoked(claims)) return undefined;
      return {
        kind: 'customer',
        account: claims.account,
        member: claims.member ?? null,
        expires_at_ms: claims.expires_at_ms,
      };
    }
    return undefined;
  }
}
