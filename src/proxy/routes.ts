/**
 * The OpenAI-compatible endpoints on Tally's server: point an OpenAI client's `baseURL` at
 * Tally's `/v1` and every call is metered (chat.ts). Answers and errors are OpenAI's shapes.
 */
import { type Context, Hono } from 'hono';
import type { z } from 'zod';
import { IDENTIFIER_LENGTH_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import type { ProxyRoute } from '../schema/config.ts';
import { parseInput } from '../schema/parse.ts';
import { scopeAllows } from '../service/access.ts';
import type { Tally } from '../service/tally.ts';
import type { RunMetadata } from '../store/store.ts';
import { embeddingsRequest, imagesRequest, meteredEmbeddings, meteredImages } from './calls.ts';
import { meteredChat } from './chat.ts';
import type { Payer } from './hold.ts';
import { chatRequest, openAiError } from './openai-wire.ts';

/** Headers that go onto the charge, as the run's metadata. */
const METADATA_HEADERS = {
  thread: 'tally-thread',
  project: 'tally-project',
  app: 'tally-app',
  author: 'tally-author',
};

/**
 * Who pays: the account of a proxy key (`pk_…`, issued per account) or of a customer token, or
 * the account a `write` key names in `Tally-Account` (a backend metering its users' calls).
 */
async function payerOf(tally: Tally, headers: Headers): Promise<Payer> {
  const credential = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1];
  const principal = credential ? await tally.access.authenticate(credential) : undefined;
  if (!principal)
    throw new TallyError(
      'unauthenticated',
      'send a customer token, or a write key with Tally-Account, as the API key',
    );
  const metadata: RunMetadata = {};
  for (const [field, header] of Object.entries(METADATA_HEADERS)) {
    const value = headers.get(header);
    if (value !== null)
      metadata[field as keyof typeof METADATA_HEADERS] = value.slice(0, IDENTIFIER_LENGTH_MAX);
  }
  if (principal.kind === 'customer' || principal.kind === 'proxy')
    return { account: principal.account, api_key_id: undefined, metadata };
  if (!scopeAllows(principal.scope, 'write'))
    throw new TallyError('forbidden', `metering needs a key of scope write; this key is ${principal.scope}`);
  const account = headers.get('tally-account');
  if (!account)
    throw new TallyError('invalid_request', 'a secret key names the account that pays in Tally-Account');
  return { account, api_key_id: principal.key_id, metadata };
}

/** One proxied endpoint: who pays, the body as its schema reads it, the model's route, then the metered call. */
function endpoint<Schema extends z.ZodType<{ model: string }>>(
  tally: Tally,
  schema: Schema,
  call: (tally: Tally, route: ProxyRoute, request: z.output<Schema>, payer: Payer) => Promise<Response>,
) {
  return async (context: Context) => {
    try {
      const proxy = tally.config.proxy;
      if (!proxy) throw new TallyError('proxy_not_configured');
      const payer = await payerOf(tally, context.req.raw.headers);
      let body: unknown;
      try {
        body = await context.req.json();
      } catch {
        throw new TallyError('invalid_request', 'the body is not valid JSON');
      }
      const request = parseInput(schema, body);
      const route = proxy.models.get(request.model);
      if (!route)
        throw new TallyError(
          'unknown_model',
          `no model ${request.model}; GET /v1/models lists the ones you may use`,
        );
      return await call(tally, route, request, payer);
    } catch (error) {
      return openAiError(error);
    }
  };
}

export function mountProxy(app: Hono, tally: Tally): void {
  app.post('/v1/chat/completions', endpoint(tally, chatRequest, meteredChat));
  app.post('/v1/embeddings', endpoint(tally, embeddingsRequest, meteredEmbeddings));
  app.post('/v1/images/generations', endpoint(tally, imagesRequest, meteredImages));

  app.get('/v1/models', async (context) => {
    try {
      const proxy = tally.config.proxy;
      if (!proxy) throw new TallyError('proxy_not_configured');
      const payer = await payerOf(tally, context.req.raw.headers);
      const data = [];
      for (const route of proxy.models.values()) {
        // The models this caller may use: an estimate tells whether an entitlement is missing.
        const estimate = await tally.estimate({
          account: payer.account,
          operation: route.operation,
          model: route.price_model,
          usage: {},
        });
        if (estimate.blocked_by.some((blocker) => blocker.kind === 'entitlement')) continue;
        data.push({ id: route.id, object: 'model', created: 0, owned_by: route.upstream.id });
      }
      return context.json({ object: 'list', data });
    } catch (error) {
      return openAiError(error);
    }
  });
}

/** The metering proxy alone (`tally proxy`): its endpoints and a health check, nothing else of the API. */
export function proxyApp(tally: Tally): Hono {
  const app = new Hono();
  app.get('/healthz', (context) => context.json({ ok: true }));
  mountProxy(app, tally);
  app.notFound((context) =>
    openAiError(
      new TallyError('not_found', `${context.req.path} is not served here: this is the metering proxy`),
    ),
  );
  return app;
}
