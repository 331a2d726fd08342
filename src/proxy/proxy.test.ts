/**
 * The metering proxy driven by the official `openai` client, in front of a stand-in for an
 * OpenAI-compatible provider (a local server speaking its wire format, streaming and not, with
 * scripted usage, errors and lengths; it records what reached it and whether it was aborted).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openTestTally } from '../../test/helpers.ts';
import { parseCredits } from '../domain/credits.ts';
import { type RunningServer, startServer } from '../http/server.ts';
import type { Tally } from '../service/tally.ts';
import { proxyApp } from './routes.ts';

/** What the stand-in answers the next calls. */
interface Script {
  /** The streamed (or whole) answer, piece by piece. */
  deltas: string[];
  /** Whether it reports usage (on a stream: when asked with include_usage). */
  usage: boolean;
  /** Milliseconds between streamed pieces. */
  delay_ms: number;
  /** Fails every call with this status before any output. */
  status?: number;
  /** Cuts the connection after this many streamed pieces. */
  fail_after?: number;
}

let script: Script;
const received: { body: Record<string, unknown>; aborted: boolean }[] = [];
let upstream: Server;
let tally: Tally;
let server: RunningServer;
const ADMIN = 'sk_admin_proxy_test_0123456789';

function respond(request: IncomingMessage, response: import('node:http').ServerResponse, raw: string) {
  const body = JSON.parse(raw) as Record<string, unknown>;
  const call = { body, aborted: false };
  received.push(call);
  response.on('close', () => {
    if (!response.writableFinished) call.aborted = true;
  });
  if (script.status) {
    response.writeHead(script.status, { 'content-type': 'application/json' });
    return response.end(JSON.stringify({ error: { message: 'scripted failure', type: 'server_error' } }));
  }
  if (request.url?.endsWith('/embeddings')) {
    response.writeHead(200, { 'content-type': 'application/json' });
    return response.end(
      JSON.stringify({
        object: 'list',
        model: body.model,
        data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5] }],
        usage: { prompt_tokens: 4, total_tokens: 4 },
      }),
    );
  }
  if (request.url?.endsWith('/images/generations')) {
    response.writeHead(200, { 'content-type': 'application/json' });
    const n = (body.n as number | undefined) ?? 1;
    return response.end(
      JSON.stringify({ created: 1, data: Array.from({ length: n }, () => ({ b64_json: 'aW1hZ2U=' })) }),
    );
  }
  const text = script.deltas.join('');
  const usage = {
    prompt_tokens: 21,
    completion_tokens: script.deltas.length,
    total_tokens: 21 + script.deltas.length,
  };
  const base = { id: 'chatcmpl-test', created: 1, model: String(body.model) };
  if (!body.stream) {
    response.writeHead(200, { 'content-type': 'application/json' });
    // A provider's latency: `delay_ms` before the whole answer.
    return void setTimeout(
      () =>
        response.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
            ...(script.usage ? { usage } : {}),
          }),
        ),
      script.delay_ms,
    );
  }
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (fields: Record<string, unknown>) =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...fields })}\n\n`;
  const pieces = [
    ...script.deltas.map((delta) =>
      chunk({ choices: [{ index: 0, delta: { content: delta }, finish_reason: null }] }),
    ),
    chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    ...(script.usage && (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage
      ? [chunk({ choices: [], usage })]
      : []),
    'data: [DONE]\n\n',
  ];
  let next = 0;
  const write = () => {
    if (response.destroyed) return;
    if (next === script.fail_after) return response.destroy();
    if (next === pieces.length) return response.end();
    response.write(pieces[next++]);
    setTimeout(write, script.delay_ms);
  };
  write();
  void request;
}

beforeAll(async () => {
  upstream = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => respond(request, response, raw));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const base_url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
  ({ tally } = await openTestTally({
    start: new Date().toISOString(),
    config: {
      plans: { pro: { price: { currency: 'USD', amount_minor: 1900 }, rank: 1, entitlements: ['pro'] } },
      price_book: {
        version: 1,
        effective_at: '2026-01-01T00:00:00Z',
        operations: {
          // 1 credit per 1,000 prompt tokens and per 100 output tokens.
          'chat.message': { rates: { input_tokens: '0.001', output_tokens: '0.01' } },
          'text.embed': { rates: { input_tokens: '0.0001' } },
          'image.generate': { rates: { images: '4' } },
          'chat.premium': {
            rates: { input_tokens: '0.001', output_tokens: '0.01' },
            requires_entitlement: 'pro',
          },
        },
      },
      proxy: {
        upstreams: { fake: { base_url }, plain: { base_url, include_usage: false } },
        models: {
          'gpt-4o-mini': {
            upstream: 'fake',
            operation: 'chat.message',
            max_output_tokens: 16_000,
            default_max_tokens: 8_000,
          },
          'text-embedding-3-small': { upstream: 'fake', operation: 'text.embed', max_output_tokens: 1 },
          'gpt-image-1': { upstream: 'fake', operation: 'image.generate', max_output_tokens: 1 },
          'plain-model': { upstream: 'plain', operation: 'chat.message', max_output_tokens: 100 },
          'premium-model': { upstream: 'fake', operation: 'chat.premium', max_output_tokens: 100 },
        },
      },
    },
  }));
  await tally.access.createKey({ scope: 'admin', name: 'proxy test', secret: ADMIN });
  server = await startServer({ tally, port: 0 });
});

afterAll(async () => {
  await server?.close();
  upstream?.close();
  await tally?.close();
});

let accounts = 0;
/** A new account holding `credits`, and an OpenAI client that pays from it with a customer token. */
async function customer(credits: string): Promise<{ account: string; openai: OpenAI }> {
  const account = `user_${accounts++}`;
  await tally.putAccount({ id: account, kind: 'user' });
  if (credits !== '0') await tally.issueGrant({ account, kind: 'purchased', amount: credits });
  const token = (await tally.access.mintCustomerToken(account)).token;
  return { account, openai: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: token, maxRetries: 0 }) };
}

const question = [{ role: 'user' as const, content: 'Tell me a story about a lighthouse keeper.' }];
const chargesOf = async (account: string) => (await tally.listCharges({ account })).data;

beforeEach(() => {
  script = { deltas: ['Once', ' upon', ' a', ' time', '.'], usage: true, delay_ms: 0 };
  received.length = 0;
});

describe('metering proxy', () => {
  it('settles a whole completion from the usage the provider reports, to the micro-credit', async () => {
    const { account, openai } = await customer('100');
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      max_tokens: 50,
    });
    expect(completion.choices[0]!.message.content).toBe('Once upon a time.');
    const [charge] = await chargesOf(account);
    // 21 prompt tokens × 0.001 + 5 output tokens × 0.01 = 0.071 credits.
    expect([charge!.credits, charge!.usage_source, charge!.usage]).toEqual([
      '0.071',
      'reported',
      { input_tokens: '21', output_tokens: '5' },
    ]);
    expect((await tally.getBalance(account)).available).toBe('99.929');
  });

  it('asks for usage on a stream, keeps it out of a client that did not ask, and settles from it', async () => {
    const { account, openai } = await customer('100');
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('Once upon a time.');
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(received[0]!.body.stream_options).toEqual({ include_usage: true });
    const [charge] = await chargesOf(account);
    expect([charge!.credits, charge!.usage_source]).toEqual(['0.071', 'reported']);
  });

  it('passes the usage chunk to a client that asked for it', async () => {
    const { openai } = await customer('100');
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
      stream_options: { include_usage: true },
    });
    const usages = [];
    for await (const chunk of stream) if (chunk.usage) usages.push(chunk.usage);
    expect(usages).toEqual([{ prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 }]);
  });

  it('counts what was streamed when the provider reports no usage', async () => {
    script.usage = false;
    const { account, openai } = await customer('100');
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
    });
    for await (const _chunk of stream);
    const [charge] = await chargesOf(account);
    expect(charge!.usage_source).toBe('counted');
    expect(charge!.usage.output_tokens).toBe('5');
  });

  it('cuts a stream cleanly at the hold: 30 credits against a call that may cost 80', async () => {
    script.deltas = Array.from({ length: 6_000 }, () => ' word');
    const { account, openai } = await customer('30');
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const finish = chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean);
    expect(finish).toEqual(['length']);
    const delivered = chunks.filter((chunk) => chunk.choices[0]?.delta?.content).length;
    expect(delivered).toBeGreaterThan(2_900);
    expect(delivered).toBeLessThan(3_000);
    const [charge] = await chargesOf(account);
    expect(charge!.usage_source).toBe('counted');
    const charged = parseCredits(charge!.credits);
    expect(charged.ok && charged.micros <= 30_000_000n && charged.micros > 29_000_000n).toBe(true);
    const balance = await tally.getBalance(account);
    expect(balance.available.startsWith('-')).toBe(false);
    expect(balance.held).toBe('0');
    // The upstream request was stopped, not read to its end.
    await expect.poll(() => received[0]!.aborted, { timeout: 10_000 }).toBe(true);
  });

  it('aborts the upstream call when the client goes away, and charges what it received', async () => {
    script.deltas = Array.from({ length: 2_000 }, () => ' word');
    script.delay_ms = 2;
    const { account, openai } = await customer('100');
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
    });
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 20) break;
    await expect.poll(() => received[0]!.aborted, { timeout: 10_000 }).toBe(true);
    await expect
      .poll(async () => (await chargesOf(account))[0]?.usage_source, { timeout: 10_000 })
      .toBe('client_disconnected');
    const [charge] = await chargesOf(account);
    expect(Number(charge!.usage.output_tokens)).toBeGreaterThanOrEqual(19);
    expect(Number(charge!.usage.output_tokens)).toBeLessThan(2_000);
  });

  it('gives the hold back when the provider fails before any output', async () => {
    script.status = 500;
    const { account, openai } = await customer('100');
    await expect(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    expect(await chargesOf(account)).toEqual([]);
    expect((await tally.getBalance(account)).held).toBe('0');
  });

  it('never holds more than the account has: of 50 concurrent calls it can afford 20, 20 go upstream', async () => {
    // Each call may cost about 0.016 + 100 × 0.01 = 1.016 credits; the account has 20.5. The
    // provider takes 2 s, so all 50 are in flight at once (a settled call would give back what
    // it did not use, and make room for another).
    script.delay_ms = 2_000;
    const { openai } = await customer('20.5');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_tokens: 100 }),
      ),
    );
    const refused = results.filter((result) => result.status === 'rejected');
    expect(received.length).toBeLessThanOrEqual(20);
    expect(results.length - refused.length).toBe(received.length);
    for (const result of refused) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(OpenAI.APIError);
      expect(((result as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.APIError>).status).toBe(
        402,
      );
    }
  });

  it('refuses an unknown model, a malformed body, a bad max_tokens and a missing token, forwarding nothing', async () => {
    const { openai } = await customer('100');
    const refusal = async (call: Promise<unknown>) => {
      const error = (await call.catch((failure: unknown) => failure)) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.APIError);
      return [error.status, (error.error as { code?: string } | undefined)?.code];
    };
    expect(await refusal(openai.chat.completions.create({ model: 'gpt-9', messages: question }))).toEqual([
      404,
      'unknown_model',
    ]);
    expect(
      await refusal(
        openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_tokens: -5 }),
      ),
    ).toEqual([400, 'invalid_request']);
    expect(
      await refusal(
        openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_tokens: 1e12 }),
      ),
    ).toEqual([400, 'invalid_request']);
    expect(await refusal(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }))).toEqual([
      400,
      'invalid_request',
    ]);
    const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'ct_forged', maxRetries: 0 });
    expect(
      await refusal(stranger.chat.completions.create({ model: 'gpt-4o-mini', messages: question })),
    ).toEqual([401, 'unauthenticated']);
    const malformed = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        'tally-account': 'user_0',
        'content-type': 'application/json',
      },
      body: '{"model": ',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect(received).toEqual([]);
  });

  it('lets a backend meter its users with a write key and Tally-Account, metadata onto the charge', async () => {
    const { account } = await customer('100');
    const openai = new OpenAI({
      baseURL: `${server.url}/v1`,
      apiKey: ADMIN,
      maxRetries: 0,
      defaultHeaders: { 'Tally-Account': account, 'Tally-Thread': 'support-42', 'Tally-Project': 'helpdesk' },
    });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question });
    const [charge] = await chargesOf(account);
    expect(charge!.metadata).toMatchObject({ thread: 'support-42', project: 'helpdesk' });
    const models = await openai.models.list();
    // Not premium-model: this account has no plan that entitles it.
    expect(models.data.map((model) => model.id)).toEqual([
      'gpt-4o-mini',
      'text-embedding-3-small',
      'gpt-image-1',
      'plain-model',
    ]);
  });

  it("pays from a proxy key's account, which reaches the proxy only and stops working once revoked", async () => {
    const { account } = await customer('100');
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (response) => ({
        status: response.status,
        json: (await response.json()) as {
          id: string;
          secret: string;
          revoked_at: string | null;
          data: { id: string }[];
        },
      }));
    const made = await api('POST', `/v1/accounts/${account}/proxy-keys`, { name: 'laptop' });
    expect([made.status, made.json.secret]).toEqual([200, expect.stringMatching(/^pk_/)]);
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: made.json.secret, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question });
    expect(await chargesOf(account)).toHaveLength(1);
    // Nothing but the proxy: not even the balance of its own account.
    const balance = await fetch(`${server.url}/v1/accounts/${account}/balance`, {
      headers: { authorization: `Bearer ${made.json.secret}` },
    });
    expect(balance.status).toBe(403);
    const listed = await api('GET', `/v1/accounts/${account}/proxy-keys`);
    expect(listed.json.data.map((key) => key.id)).toEqual([made.json.id]);
    expect(JSON.stringify(listed.json)).not.toContain(made.json.secret);
    expect((await api('POST', `/v1/proxy-keys/${made.json.id}/revoke`)).json.revoked_at).not.toBeNull();
    const refused = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: question })
      .catch((error: unknown) => error);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
  });

  it('runs alone (tally proxy): the proxy answers, the rest of the API is not there', async () => {
    const alone = await startServer({ tally, port: 0, app: proxyApp(tally) });
    try {
      const { account } = await customer('100');
      const token = (await tally.access.mintCustomerToken(account)).token;
      const openai = new OpenAI({ baseURL: `${alone.url}/v1`, apiKey: token, maxRetries: 0 });
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question });
      expect(await chargesOf(account)).toHaveLength(1);
      expect((await fetch(`${alone.url}/v1/prices`)).status).toBe(404);
    } finally {
      await alone.close();
    }
  });

  it('meters embeddings by their input tokens and images at n × the price of one', async () => {
    const { account, openai } = await customer('10');
    const embedded = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'a lighthouse at dusk',
      encoding_format: 'float',
    });
    expect(embedded.data[0]!.embedding).toEqual([0.25, -0.5]);
    const images = await openai.images.generate({
      model: 'gpt-image-1',
      prompt: 'a lighthouse at dusk',
      n: 2,
    });
    expect(images.data).toHaveLength(2);
    const [image, embedding] = await chargesOf(account);
    expect([embedding!.operation, embedding!.credits, embedding!.usage_source]).toEqual([
      'text.embed',
      '0.0004',
      'reported',
    ]);
    expect([image!.operation, image!.credits, image!.usage]).toEqual([
      'image.generate',
      '8',
      { images: '2' },
    ]);
    // Three images cost 12 credits: the account has 1.9996 left, so nothing is forwarded.
    received.length = 0;
    const refused = await openai.images
      .generate({ model: 'gpt-image-1', prompt: 'more', n: 3 })
      .catch((error: unknown) => error);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect(received).toEqual([]);
  });

  it('settles what was delivered when the provider breaks mid-stream, and ends the client stream cleanly', async () => {
    script = { deltas: Array.from({ length: 50 }, () => ' word'), usage: true, delay_ms: 1, fail_after: 12 };
    const { account, openai } = await customer('100');
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
    });
    let delivered = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) delivered++;
    expect(delivered).toBe(12);
    const [charge] = await chargesOf(account);
    expect([charge!.usage_source, charge!.usage.output_tokens]).toEqual(['counted', '12']);
    expect((await tally.getBalance(account)).held).toBe('0');
  });

  it('does not ask an upstream that refuses stream_options for usage, and counts instead', async () => {
    const { account, openai } = await customer('100');
    const stream = await openai.chat.completions.create({
      model: 'plain-model',
      messages: question,
      stream: true,
    });
    for await (const _chunk of stream);
    expect(received[0]!.body.stream_options).toBeUndefined();
    expect((await chargesOf(account))[0]!.usage_source).toBe('counted');
  });

  it('refuses a model the account is not entitled to with 403, forwarding nothing', async () => {
    const { openai } = await customer('100');
    const refused = (await openai.chat.completions
      .create({ model: 'premium-model', messages: question })
      .catch((error: unknown) => error)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused.error as { code?: string }).code).toBe('entitlement_required');
    expect(received).toEqual([]);
  });
});
