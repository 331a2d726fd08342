/**
 * `POST /v1/chat/completions` through Tally: every call is priced, held, forwarded, settled from
 * the usage the provider reports, and cut off cleanly where its hold ends.
 *
 * 1. The prompt's tokens are counted (gpt-tokenizer); the output is bounded by max_tokens (or
 *    max_completion_tokens, or the model's default), clamped to the model's ceiling.
 * 2. The hold is the most the call can cost, or — for a stream, when the account has less — what
 *    it has, as long as that covers the prompt. It is an ordinary reservation, so concurrent calls
 *    can never hold more than the account has: the proxy keeps no counter of its own.
 * 3. A stream is watched token by token: before a delta would cost more than the hold, the
 *    proxy stops, sends a last chunk with `finish_reason: "length"`, a usage chunk and `[DONE]`,
 *    aborts the upstream request and settles what was delivered. A client that goes away has its
 *    upstream request aborted and what it received settled.
 * 4. Usage comes from the provider (`reported`), else from counting what was streamed
 *    (`counted`), or up to a disconnect (`client_disconnected`); the charge records which.
 */
import { setImmediate as nextTurn } from 'node:timers';
import { PROXY_TOKENS_PER_MESSAGE } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { ProxyRoute } from '../schema/config.ts';
import type { Tally } from '../service/tally.ts';
import { countTokens } from '../service/tokens.ts';
import type { UsageSource } from '../store/store.ts';
import { type Hold, holdFor, type Payer, releaseHold, settleHold } from './hold.ts';
import {
  type ChatRequest,
  type CompletionChunk,
  eventData,
  type OpenAiUsage,
  openAiError,
  promptText,
  sseEventBatches,
} from './openai-wire.ts';
import { postUpstream, type UpstreamAnswer } from './upstream.ts';

/** A chat call's hold, and the prompt's tokens it was priced with. */
interface Metered extends Hold {
  input_tokens: number;
}

/** The add-ons a call is priced with: web search, when it asks for it and the route prices it. */
const addOnsOf = (route: ProxyRoute, request: ChatRequest): string[] =>
  request.web_search_options && route.web_search_add_on ? [route.web_search_add_on] : [];

/** Holds the prompt and the output at its bound (a stream: what the account has, if it covers the prompt). */
async function hold(tally: Tally, route: ProxyRoute, request: ChatRequest, payer: Payer): Promise<Metered> {
  const prompt = promptText(request);
  const counted = await countTokens(prompt.text, route.upstream_model);
  const input_tokens = counted.tokens + PROXY_TOKENS_PER_MESSAGE * (prompt.messages + 1);
  const asked = request.max_completion_tokens ?? request.max_tokens ?? route.default_max_tokens;
  const output_tokens = Math.min(asked, route.max_output_tokens);
  const held = await holdFor(tally, route, payer, {
    most: { input_tokens, output_tokens },
    least: { input_tokens, output_tokens: 0 },
    may_shrink: request.stream === true,
    add_ons: addOnsOf(route, request),
  });
  return { ...held, input_tokens };
}

const settle = (metered: Metered, input_tokens: number, output_tokens: number, source: UsageSource) =>
  settleHold(metered, { input_tokens, output_tokens }, source);
const release = releaseHold;
const costOf = (metered: Metered, output_tokens: number) =>
  metered.price({ input_tokens: metered.input_tokens, output_tokens });

/** The upstream call: the request as the client sent it, the model's upstream name, usage asked for on a stream. */
function forward(route: ProxyRoute, request: ChatRequest, signal: AbortSignal): Promise<UpstreamAnswer> {
  const body: Record<string, unknown> = { ...request, model: route.upstream_model };
  if (request.stream && route.upstream.include_usage)
    body.stream_options = { ...(request.stream_options ?? {}), include_usage: true };
  return postUpstream(route, '/chat/completions', body, signal);
}

/** Meters one chat completion call: holds, forwards, settles; a stream is cut where its hold ends. */
export async function meteredChat(
  tally: Tally,
  route: ProxyRoute,
  request: ChatRequest,
  payer: Payer,
): Promise<Response> {
  const metered = await hold(tally, route, request, payer);
  const upstream_abort = new AbortController();
  let upstream: UpstreamAnswer;
  try {
    upstream = await forward(route, request, upstream_abort.signal);
  } catch {
    await release(metered);
    throw new TallyError('upstream_unreachable', `${route.upstream.id} did not answer`);
  }
  if (!upstream.ok) {
    // An upstream refusal before any output costs nothing: the hold goes back, the error goes through.
    await release(metered);
    return new Response(await upstream.text(), {
      status: upstream.status,
      headers: { 'content-type': upstream.content_type },
    });
  }
  if (!request.stream) return completed(metered, upstream);
  return streamed(metered, request, upstream, upstream_abort);
}

/** A whole completion: passed on as it came, settled from its reported usage (or its text, counted). */
async function completed(metered: Metered, upstream: UpstreamAnswer): Promise<Response> {
  const text = await upstream.text();
  let parsed: { usage?: OpenAiUsage; choices?: { message?: { content?: string | null } }[] } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {}
  if (parsed.usage)
    await settle(metered, parsed.usage.prompt_tokens, parsed.usage.completion_tokens, 'reported');
  else {
    const output = (parsed.choices ?? []).map((choice) => choice.message?.content ?? '').join('');
    const counted = await countTokens(output, metered.route.upstream_model);
    await settle(metered, metered.input_tokens, counted.tokens, 'counted');
  }
  return new Response(text, {
    status: upstream.status,
    headers: { 'content-type': upstream.content_type },
  });
}

/** A stream, forwarded event by event while its cost stays within the hold. */
function streamed(
  metered: Metered,
  request: ChatRequest,
  upstream: UpstreamAnswer,
  upstream_abort: AbortController,
): Response {
  const client_wants_usage = request.stream_options?.include_usage === true;
  const encoder = new TextEncoder();
  let output_tokens = 0;
  let reported: OpenAiUsage | undefined;
  let finished = false;
  const finish = async (source: UsageSource) => {
    if (finished) return;
    finished = true;
    try {
      if (source === 'reported' && reported)
        await settle(metered, reported.prompt_tokens, reported.completion_tokens, 'reported');
      else if (output_tokens === 0 && source !== 'client_disconnected') await release(metered);
      else await settle(metered, metered.input_tokens, output_tokens, source);
    } catch (error) {
      // Left held, the reservation lapses at its TTL and its credits come back: log, never crash.
      console.error(`settling proxied call ${metered.reservation.id} failed:`, error);
    }
  };
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      // What the provider's batch of events passes on: written to the client in one piece.
      let pending = '';
      const pass = (event: string) => {
        pending += `${event}\n\n`;
      };
      const send = (data: string) => pass(`data: ${data}`);
      const flush = () => {
        if (pending !== '') controller.enqueue(encoder.encode(pending));
        pending = '';
      };
      const batches = sseEventBatches(upstream.chunks);
      try {
        reading: for (let next = await batches.next(); !next.done; next = await batches.next()) {
          for (const event of next.value) {
            if (finished) break reading;
            const data = eventData(event);
            if (data === undefined) continue;
            if (data === '[DONE]') break reading;
            const chunk = JSON.parse(data) as CompletionChunk;
            if (chunk.usage) {
              reported = chunk.usage;
              // Asked for by the proxy, not by this client: kept out of its stream.
              if (client_wants_usage) pass(event);
              continue;
            }
            const delta = chunk.choices?.map((choice) => choice.delta?.content ?? '').join('') ?? '';
            if (delta !== '') {
              const tokens = (await countTokens(delta, metered.route.upstream_model)).tokens;
              if (costOf(metered, output_tokens + tokens) > metered.hold_micros) {
                // The hold ends here: settled first (so the charge is there whatever the client
                // does once it sees the end), then a well-formed end instead of the rest.
                upstream_abort.abort();
                flush();
                await finish('counted');
                send(
                  JSON.stringify({
                    ...envelope(chunk),
                    choices: [{ index: 0, delta: {}, finish_reason: 'length' }],
                  }),
                );
                send(
                  JSON.stringify({ ...envelope(chunk), choices: [], usage: usageOf(metered, output_tokens) }),
                );
                send('[DONE]');
                flush();
                controller.close();
                return;
              }
              output_tokens += tokens;
            }
            pass(event);
          }
          flush();
        }
        // Delivered before the settle waits, so the last deltas are not held back by it.
        flush();
        await finish(reported ? 'reported' : 'counted');
        send('[DONE]');
        flush();
        controller.close();
      } catch (error) {
        if (finished) return;
        // The upstream broke mid-stream: what was delivered is settled, the client's stream ends.
        upstream_abort.abort();
        try {
          flush();
        } catch {}
        await finish('counted');
        try {
          send('[DONE]');
          flush();
          controller.close();
        } catch {}
        if (!(error instanceof Error && error.name === 'AbortError'))
          console.error(`proxied stream ${metered.reservation.id} broke: ${(error as Error).message}`);
      } finally {
        // The provider's body is let go once the client's stream has ended, not before: stopping
        // it (what leaving a for-await over it does) took ~0.06 ms a call that the client waited for.
        nextTurn(() => void batches.return(undefined).catch(() => undefined));
      }
    },
    async cancel() {
      // The client went away: the upstream call stops, and what it received is charged.
      upstream_abort.abort();
      await finish('client_disconnected');
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
  });
}

const envelope = (chunk: CompletionChunk) => ({
  id: chunk.id,
  object: chunk.object ?? 'chat.completion.chunk',
  created: chunk.created,
  model: chunk.model,
});

const usageOf = (metered: Metered, output_tokens: number): OpenAiUsage => ({
  prompt_tokens: metered.input_tokens,
  completion_tokens: output_tokens,
  total_tokens: metered.input_tokens + output_tokens,
});

export { openAiError };
