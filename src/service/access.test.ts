import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { Access, scopeAllows } from './access.ts';
import { TestClock } from './clock.ts';
import { IdGenerator } from './ids.ts';

function access() {
  const clock = new TestClock('2026-03-01T00:00:00Z');
  const store = new SqliteStore({ filename: ':memory:' });
  return { access: new Access(store, clock, new IdGenerator()), store, clock };
}

describe('access', () => {
  it('ranks scopes: admin covers write covers read, never the other way', () => {
    expect([
      scopeAllows('admin', 'read'),
      scopeAllows('write', 'write'),
      scopeAllows('read', 'write'),
    ]).toEqual([true, true, false]);
  });

  it('stores a key as its hash only, authenticates it, and stops at once when it is revoked', async () => {
    const { access: keys, store } = access();
    const made = await keys.createKey({ scope: 'write', name: 'backend' });
    expect(made.secret).toMatch(/^sk_write_/);
    const [row] = await store.read((transaction) => transaction.listApiKeys({ limit: 10 }));
    expect(JSON.stringify(row)).not.toContain(made.secret);
    expect(await keys.authenticate(made.secret)).toEqual({ kind: 'key', key_id: made.id, scope: 'write' });
    expect(await keys.revokeKey(made.id)).toBe(true);
    expect(await keys.revokeKey(made.id)).toBe(false);
    expect(await keys.authenticate(made.secret)).toBeUndefined();
  });

  it('signs customer tokens for one account, until they expire or the key that minted them is revoked', async () => {
    const { access: tokens, clock } = access();
    const minter = await tokens.createKey({ scope: 'write', name: 'portal' });
    const { token } = await tokens.mintCustomerToken('ana', 60, minter.id);
    expect(await tokens.authenticate(token)).toMatchObject({ kind: 'customer', account: 'ana' });
    const [payload, signature] = token.slice(3).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ account: 'bob', expires_at_ms: 9e15 })).toString('base64url');
    for (const credential of [`ct_${forged}.${signature}`, `${token}.x`, `ct_${payload}`, `xx${token}`])
      expect(await tokens.authenticate(credential)).toBeUndefined();
    clock.advanceSeconds(61);
    expect(await tokens.authenticate(token)).toBeUndefined();
    const { token: fresh } = await tokens.mintCustomerToken('ana', 60, minter.id);
    expect(await tokens.authenticate(fresh)).toBeDefined();
    await tokens.revokeKey(minter.id);
    expect(await tokens.authenticate(fresh)).toBeUndefined();
  });
});
