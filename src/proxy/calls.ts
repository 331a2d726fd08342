/**
 * The proxy's calls that come back whole: `POST /v1/embeddings` (priced by its input tokens) and
 * `POST /v1/images/generations` (n × the price of one image). Each is held at its most before it
 * is forwarded, and settled from what the provider reports.
 */
import { z } from 'zod';
import { PROXY_IMAGES_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { ProxyRoute } from '../schema/config.ts';
import type { Tally } from '../service/tally.ts';
import { countTokens } from '../service/tokens.ts';
import { type Hold, holdFor, type Payer, releaseHold, settleHold, type Usage } from './hold.ts';
import { postUpstream, type UpstreamAnswer } from './upstream.ts';

export const embeddingsRequest = z.looseObject({
  model: z.string().min(1).max(200),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number()), z.array(z.array(z.number()))]),
});

export const imagesRequest = z.looseObject({
  model: z.string().min(1).max(200),
  prompt: z.string().min(1),
  n: z.number().int().min(1).max(PROXY_IMAGES_MAX).nullable().optional(),
});

/** Forwards a whole call; a provider that fails before answering gives the hold back. */
async function forwardWhole(
  hold: Hold,
  path: string,
  body: Record<string, unknown>,
  usageOf: (answer: Record<string, unknown>) => { usage: Usage; reported: boolean },
): Promise<Response> {
  const route = hold.route;
  let upstream: UpstreamAnswer;
  try {
    upstream = await postUpstream(route, path, { ...body, model: route.upstream_model });
  } catch {
    await releaseHold(hold);
    throw new TallyError('upstream_unreachable', `${route.upstream.id} did not answer`);
  }
  const text = await upstream.text();
  if (!upstream.ok) await releaseHold(hold);
  else {
    let answer: Record<string, unknown> = {};
    try {
      answer = JSON.parse(text) as Record<string, unknown>;
    } catch {}
    const { usage, reported } = usageOf(answer);
    await settleHold(hold, usage, reported ? 'reported' : 'counted');
  }
  return new Response(text, {
    status: upstream.status,
    headers: { 'content-type': upstream.content_type },
  });
}

/** Embeddings: the input's tokens, counted to hold, reported to settle. */
export async function meteredEmbeddings(
  tally: Tally,
  route: ProxyRoute,
  request: z.infer<typeof embeddingsRequest>,
  payer: Payer,
): Promise<Response> {
  const texts =
    typeof request.input === 'string'
      ? [request.input]
      : request.input.filter((item) => typeof item === 'string');
  let input_tokens = 0;
  for (const text of texts) input_tokens += (await countTokens(text as string, route.upstream_model)).tokens;
  // Token arrays are their own count.
  if (Array.isArray(request.input) && typeof request.input[0] !== 'string')
    input_tokens = (request.input as unknown[]).flat().length;
  const hold = await holdFor(tally, route, payer, {
    most: { input_tokens },
    least: { input_tokens },
    may_shrink: false,
    add_ons: [],
  });
  return forwardWhole(hold, '/embeddings', request, (answer) => {
    const reported = (answer.usage as { prompt_tokens?: number } | undefined)?.prompt_tokens;
    return reported === undefined
      ? { usage: { input_tokens }, reported: false }
      : { usage: { input_tokens: reported }, reported: true };
  });
}

/** Images: n × the price of one, held before, settled for the images the provider returned. */
export async function meteredImages(
  tally: Tally,
  route: ProxyRoute,
  request: z.infer<typeof imagesRequest>,
  payer: Payer,
): Promise<Response> {
  const n = request.n ?? 1;
  const hold = await holdFor(tally, route, payer, {
    most: { images: n },
    least: { images: n },
    may_shrink: false,
    add_ons: [],
  });
  return forwardWhole(hold, '/images/generations', request, (answer) => {
    const data = answer.data;
    return Array.isArray(data)
      ? { usage: { images: data.length }, reported: true }
      : { usage: { images: n }, reported: false };
  });
}
