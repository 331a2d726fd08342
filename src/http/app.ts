/**
 * The HTTP API (API.md) on Hono: authenticate, authorise, read the body, call the route's
 * handler, answer JSON — or a problem document for any refusal.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import { REQUEST_BODY_BYTES_MAX } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';
import { mountProxy } from '../proxy/routes.ts';
import { parseInput } from '../schema/parse.ts';
import { type Principal, scopeAllows } from '../service/access.ts';
import type { TestClock } from '../service/clock.ts';
import type { Tally } from '../service/tally.ts';
import { apiReferencePage, docsPage, docsQuery } from './docs-page.ts';
import { openApiDocument } from './openapi.ts';
import { problemResponse } from './problem.ts';
import { type RouteDefinition, routes, testClockRoutes } from './routes/index.ts';

export const API_VERSION = '0.1.0';

export interface AppOptions {
  tally: Tally;
  /** Enables `/v1/test/clock` (never in production). */
  test_clock?: TestClock;
}

async function principalOf(tally: Tally, authorization: string | undefined): Promise<Principal | null> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) return null;
  return (await tally.access.authenticate(match[1]!)) ?? null;
}

function authorize(route: RouteDefinition, principal: Principal | null): void {
  if (route.access === 'public') return;
  if (!principal)
    throw new TallyError('unauthenticated', 'send Authorization: Bearer with a secret key or customer token');
  // A proxy key pays for calls through the metering proxy (src/proxy/), and reaches nothing else.
  if (principal.kind === 'proxy')
    throw new TallyError('forbidden', 'a proxy key calls the metering proxy only');
  if (principal.kind === 'customer') {
    if (!route.customer) throw new TallyError('forbidden', 'a customer token may not do this');
    return;
  }
  if (!scopeAllows(principal.scope, route.access)) {
    throw new TallyError(
      'forbidden',
      `this needs a key of scope ${route.access}; this key is ${principal.scope}`,
    );
  }
}

async function readBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new TallyError('invalid_request', 'the body is not valid JSON');
  }
}

/**
 * Refuses a body over REQUEST_BODY_BYTES_MAX with 413 before it is read. Hono's bodyLimit streams
 * every body to count it, and asking for the stream makes @hono/node-server build a full web
 * Request (abort signal, headers, stream) for every request, GETs included: about 8 % of the
 * server's CPU under load. A declared Content-Length is checked directly instead (Node's parser
 * reads no more than it declares); only a body sent without one is streamed through bodyLimit.
 */
function limitBodies(): MiddlewareHandler {
  // The unread rest of the body would be parsed as the next request on a kept-alive connection:
  // the answer closes the connection instead.
  const too_large = () => {
    const response = problemResponse(new TallyError('payload_too_large'));
    response.headers.set('connection', 'close');
    return response;
  };
  const streamed = bodyLimit({ maxSize: REQUEST_BODY_BYTES_MAX, onError: too_large });
  return async (context, next) => {
    if (context.req.method === 'GET' || context.req.method === 'HEAD') return next();
    const declared = context.req.header('content-length');
    if (declared === undefined || context.req.header('transfer-encoding') !== undefined)
      return streamed(context, next);
    return Number(declared) > REQUEST_BODY_BYTES_MAX ? too_large() : next();
  };
}

/** The built dashboard (dashboard/dist), served at `/` when it has been built. */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist', import.meta.url));
/** The interactive API reference's script, copied into the build (dashboard/vite.config.ts). */
const API_REFERENCE_SCRIPT = 'api-reference.js';
const has_api_reference = existsSync(join(DASHBOARD_DIST, 'docs', API_REFERENCE_SCRIPT));

/** Serves the dashboard's files, and its index page for any other page path (the app routes in the browser). */
function serveDashboard(app: Hono): void {
  if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) return;
  // Sent compressed where the browser takes it (the build wrote .br and .gz beside each file).
  const files = (cache_control: string) =>
    serveStatic({
      root: DASHBOARD_DIST,
      precompressed: true,
      onFound: (_path, context) => {
        context.header('Cache-Control', cache_control);
      },
    });
  // Their names carry a hash of their content: a new build is a new name, so they never go stale.
  app.use('/assets/*', files('public, max-age=31536000, immutable'));
  app.get(`/docs/${API_REFERENCE_SCRIPT}`, files('public, max-age=3600'));
  app.get('/favicon.svg', files('public, max-age=3600'));
  app.get('*', async (context, next) => {
    if (context.req.path.startsWith('/v1/')) return next();
    return context.html(await readFile(join(DASHBOARD_DIST, 'index.html'), 'utf8'));
  });
}

/**
 * Every answer says what a browser may do with it: run only the dashboard's own scripts, never
 * be framed (clickjacking), never guess a content type. Inline styles stay allowed: the charts
 * and the docs page set them.
 */
const browserPolicy = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  xContentTypeOptions: 'nosniff',
  // The API is called cross-origin by operators' own pages; isolation headers would break that.
  crossOriginResourcePolicy: false,
  crossOriginOpenerPolicy: false,
});

/** An OpenAPI path (`/v1/accounts/{id}`) as Hono routes it (`/v1/accounts/:id`). */
const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/**
 * One route's handler: who calls, may they, is the query one the route takes; then the route's
 * command or read with the caller's idempotency key, namespace, key budget and audit actor.
 */
function routeHandler(route: RouteDefinition, tally: Tally, test_clock: TestClock | undefined) {
  return async (context: Context) => {
    try {
      const principal = await principalOf(tally, context.req.header('authorization'));
      authorize(route, principal);
      const query = context.req.query();
      if (route.query) parseInput(route.query, query);
      else if (Object.keys(query).length > 0)
        throw new TallyError('invalid_request', `${route.path} takes no query parameters`, {
          errors: Object.keys(query).map((field) => ({
            field,
            code: 'invalid_request' as const,
            message: 'is not a known query parameter',
          })),
        });
      let replayed = false;
      const result = await route.handle({
        tally,
        test_clock,
        params: context.req.param() as Record<string, string>,
        query,
        body:
          route.method === 'get'
            ? undefined
            : route.raw_body
              ? await context.req.raw.text()
              : await readBody(context.req.raw),
        header: (name) => context.req.header(name),
        principal,
        options: {
          idempotency_key: context.req.header('idempotency-key'),
          idempotency_namespace:
            principal?.kind === 'customer'
              ? `customer:${principal.account}`
              : principal?.kind === 'key'
                ? principal.key_id
                : undefined,
          // Per-key budgets apply to the key the caller authenticated with, never to one named in the body.
          api_key_id: principal?.kind === 'key' ? principal.key_id : undefined,
          // Operator actions (secret keys) land in the audit log; a customer acting on their own account does not.
          actor: principal?.kind === 'key' ? principal.key_id : undefined,
          on_replay: () => {
            replayed = true;
          },
        },
        member_scope: principal?.kind === 'customer' ? (principal.member ?? undefined) : undefined,
        ownAccount: (account, not_found = 'account_not_found') => {
          if (principal?.kind === 'customer' && account !== principal.account)
            throw new TallyError(not_found);
        },
      });
      if (result instanceof Response) return result;
      const response = context.json(result as object);
      if (replayed) response.headers.set('Idempotent-Replayed', 'true');
      return response;
    } catch (error) {
      return problemResponse(error);
    }
  };
}

export function createApp(options: AppOptions): Hono {
  const { tally, test_clock } = options;
  const app = new Hono();
  app.use('*', browserPolicy);
  app.use('*', limitBodies());

  const served: RouteDefinition[] = [...routes, ...(test_clock ? testClockRoutes : [])];
  const meta: RouteDefinition[] = [
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      tag: 'meta',
      access: 'public',
      customer: true,
      handle: async () => document,
    },
    {
      method: 'get',
      path: '/docs',
      summary: 'The API reference page: interactive, or `view=plain` for a static one',
      tag: 'meta',
      access: 'public',
      customer: true,
      query: docsQuery,
      handle: async ({ query }) =>
        new Response(
          has_api_reference && query.view !== 'plain'
            ? apiReferencePage(`/docs/${API_REFERENCE_SCRIPT}`)
            : docsPage(document),
          { headers: { 'content-type': 'text/html; charset=utf-8' } },
        ),
    },
  ];
  const all = [...served, ...meta];
  const document = openApiDocument(all, API_VERSION);

  // A known path asked with another method is a 405 naming the methods it takes, not a 404.
  const methods_by_path = new Map<string, string[]>();
  for (const route of all) {
    const path = honoPath(route.path);
    methods_by_path.set(path, [...(methods_by_path.get(path) ?? []), route.method.toUpperCase()]);
    app.on(route.method.toUpperCase(), path, routeHandler(route, tally, test_clock));
  }
  if (!test_clock) {
    for (const route of testClockRoutes)
      app.on(route.method.toUpperCase(), route.path, () =>
        problemResponse(
          new TallyError('test_clock_disabled', 'start the server with --test-clock to use it'),
        ),
      );
  }
  for (const [path, methods] of methods_by_path) {
    app.all(path, (context, next) => {
      if (context.req.method === 'HEAD' && methods.includes('GET')) return next();
      const response = problemResponse(
        new TallyError('method_not_allowed', `${context.req.path} takes ${methods.join(', ')}`),
      );
      response.headers.set('Allow', methods.join(', '));
      return response;
    });
  }
  // The OpenAI-compatible metering proxy (src/proxy/): OpenAI's shapes, not problem+json.
  mountProxy(app, tally);
  serveDashboard(app);
  app.notFound(() => problemResponse(new TallyError('not_found')));
  app.onError((error) => problemResponse(error));
  return app;
}
