/**
 * A call to the provider. It goes through undici's `request`, not `fetch` (which is undici too,
 * behind WHATWG streams, headers and body mixins): on loopback, with the provider answering at
 * once, a call cost ~0.21–0.35 ms through `fetch` and ~0.07 ms through `request`, a fifth to a
 * quarter of all the latency the proxy adds (X1, bench/README.md). Connections are kept alive
 * per origin by undici's global dispatcher, as `fetch`'s are.
 */
import { request } from 'undici';
import type { ProxyRoute } from '../schema/config.ts';

/** What the provider answered: its status and type, and its body, read once, whole or as it arrives. */
export interface UpstreamAnswer {
  status: number;
  ok: boolean;
  content_type: string;
  text(): Promise<string>;
  /** The body's bytes as they arrive; reading stops with an `AbortError` when the call is aborted. */
  chunks: AsyncIterable<Uint8Array>;
}

/** The provider's API key, from the environment variable the route names. */
function upstreamHeaders(route: ProxyRoute): Record<string, string> {
  const key = route.upstream.api_key_env ? process.env[route.upstream.api_key_env] : undefined;
  return { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
}

/** POSTs the request's JSON to the route's provider at `path` (`/chat/completions`, …). */
export async function postUpstream(
  route: ProxyRoute,
  path: string,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<UpstreamAnswer> {
  const answer = await request(`${route.upstream.base_url.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: upstreamHeaders(route),
    body: JSON.stringify(body),
    signal,
  });
  const content_type = answer.headers['content-type'];
  return {
    status: answer.statusCode,
    ok: answer.statusCode >= 200 && answer.statusCode < 300,
    content_type: (Array.isArray(content_type) ? content_type[0] : content_type) ?? 'application/json',
    text: () => answer.body.text(),
    chunks: answer.body,
  };
}
