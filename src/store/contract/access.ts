/** The store contract, access: API keys, customer token revocations, server secrets. */
import { beforeEach, expect, it } from 'vitest';
import type { Store } from '../store.ts';

import { T0 } from './fixtures.ts';

export function accessContract(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

  it('records customer token revocations per account and per minting key, only ever moving them on', async () => {
    expect(await store.read((tx) => tx.customerTokenRevocations('alice', 'key_1'))).toEqual({
      account_ms: null,
      key_ms: null,
    });
    await store.transaction((tx) => tx.revokeCustomerTokens('account', 'alice', T0 + 10));
    await store.transaction((tx) => tx.revokeCustomerTokens('account', 'alice', T0 + 5));
    await store.transaction((tx) => tx.revokeCustomerTokens('key', 'key_1', T0 + 7));
    expect(await store.read((tx) => tx.customerTokenRevocations('alice', 'key_1'))).toEqual({
      account_ms: T0 + 10,
      key_ms: T0 + 7,
    });
    expect(await store.read((tx) => tx.customerTokenRevocations('bob', null))).toEqual({
      account_ms: null,
      key_ms: null,
    });
  });

  it('stores API keys by hash and revokes them', async () => {
    const key = {
      id: 'key_1',
      secret_hash: 'h1',
      secret_prefix: 'sk_live_ab',
      scope: 'write' as const,
      name: 'ci',
      created_at_ms: T0,
      revoked_at_ms: null,
    };
    await store.transaction((tx) => tx.insertApiKey(key));
    expect(await store.read((tx) => tx.getApiKeyByHash('h1'))).toEqual(key);
    expect(await store.read((tx) => tx.getApiKeyByHash('h2'))).toBeUndefined();
    expect(await store.transaction((tx) => tx.revokeApiKey('key_1', T0 + 5))).toBe('revoked');
    expect(await store.transaction((tx) => tx.revokeApiKey('key_1', T0 + 9))).toBe('already_revoked');
    expect(await store.transaction((tx) => tx.revokeApiKey('key_nope', T0 + 9))).toBe('not_found');
    expect(await store.read((tx) => tx.listApiKeys({ limit: 10 }))).toEqual([
      { ...key, revoked_at_ms: T0 + 5 },
    ]);
    await expect(store.transaction((tx) => tx.insertApiKey({ ...key, id: 'key_2' }))).rejects.toThrow();
    await store.transaction(async (tx) => {
      await tx.insertApiKey({ ...key, id: 'key_2', secret_hash: 'h2' });
      await tx.insertApiKey({ ...key, id: 'key_3', secret_hash: 'h3' });
    });
    const keyIds = async (page: { after?: string; limit: number }) =>
      (await store.read((tx) => tx.listApiKeys(page))).map((row) => row.id);
    expect(await keyIds({ limit: 2 })).toEqual(['key_1', 'key_2']);
    expect(await keyIds({ after: 'key_2', limit: 2 })).toEqual(['key_3']);
  });

  it('keeps the first server secret of a name', async () => {
    expect(await store.transaction((tx) => tx.putServerSecretOnce('signing', 'a', T0))).toBe('a');
    expect(await store.transaction((tx) => tx.putServerSecretOnce('signing', 'b', T0))).toBe('a');
    expect(await store.read((tx) => tx.getServerSecret('signing'))).toBe('a');
  });

  it('stores proxy keys by hash, per account, pages them and revokes them once', async () => {
    const key = (id: string, hash: string) => ({
      id,
      account_id: 'alice',
      secret_hash: hash,
      secret_prefix: 'pk_abc',
      name: 'laptop',
      created_at_ms: T0,
      revoked_at_ms: null,
    });
    await store.transaction(async (tx) => {
      await tx.insertProxyKey(key('pxk_1', 'h1'));
      await tx.insertProxyKey(key('pxk_2', 'h2'));
      await tx.insertProxyKey({ ...key('pxk_3', 'h3'), account_id: 'bob' });
    });
    expect(await store.read((tx) => tx.getProxyKeyByHash('h2'))).toEqual(key('pxk_2', 'h2'));
    expect(await store.read((tx) => tx.getProxyKeyByHash('nope'))).toBeUndefined();
    const ids = async (page: { after?: string; limit: number }) =>
      (await store.read((tx) => tx.listProxyKeys('alice', page))).map((row) => row.id);
    expect(await ids({ limit: 10 })).toEqual(['pxk_1', 'pxk_2']);
    expect(await ids({ after: 'pxk_1', limit: 10 })).toEqual(['pxk_2']);
    expect(await store.transaction((tx) => tx.revokeProxyKey('pxk_1', T0 + 5))).toBe('revoked');
    expect(await store.transaction((tx) => tx.revokeProxyKey('pxk_1', T0 + 9))).toBe('already_revoked');
    expect(await store.transaction((tx) => tx.revokeProxyKey('pxk_x', T0 + 9))).toBe('not_found');
    expect((await store.read((tx) => tx.getProxyKey('pxk_1')))?.revoked_at_ms).toBe(T0 + 5);
    await expect(store.transaction((tx) => tx.insertProxyKey(key('pxk_4', 'h1')))).rejects.toThrow();
  });
}
