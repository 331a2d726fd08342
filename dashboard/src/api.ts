/**
 * Who is signed in, and the typed SDK acting as them. A customer token (ct_…) sees one account;
 * a secret key (sk_…) is an operator. The credential lives in this tab's session storage only.
 */
import { TallyApiError, TallyClient } from '../../src/sdk/client.ts';

export type Session =
  /** `member`: a team member's token, which sees the team's balance and their own runs. */
  | { kind: 'customer'; credential: string; account: string; member: string | null; expires_at: string }
  | { kind: 'operator'; credential: string };

const STORAGE_KEY = 'tally.credential';

/** A customer token carries its account and expiry, readable (not secret); the server checks its signature. */
export function sessionOf(credential: string): Session | null {
  const trimmed = credential.trim();
  if (trimmed.startsWith('sk_')) return { kind: 'operator', credential: trimmed };
  if (!trimmed.startsWith('ct_')) return null;
  try {
    const payload = trimmed.slice(3).split('.')[0]!;
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as {
      account: string;
      member?: string;
      expires_at_ms: number;
    };
    return {
      kind: 'customer',
      credential: trimmed,
      account: claims.account,
      member: claims.member ?? null,
      expires_at: new Date(claims.expires_at_ms).toISOString(),
    };
  } catch {
    return null;
  }
}

export function storedSession(): Session | null {
  const credential = sessionStorage.getItem(STORAGE_KEY);
  return credential ? sessionOf(credential) : null;
}

export function storeSession(session: Session | null): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, session.credential);
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function clientFor(session: Session | null): TallyClient {
  return new TallyClient({ url: window.location.origin, credential: session?.credential });
}

/** A refusal as a person should read it. */
export function describeError(error: unknown): string {
  if (error instanceof TallyApiError) return `${error.problem.title}: ${error.problem.detail}`;
  return error instanceof Error ? error.message : String(error);
}

export { TallyApiError, TallyClient };
