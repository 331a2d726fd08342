/**
 * docs/meter-openai.md, run as written: the guide's code, with the official `openai` client
 * pointed at a stand-in for OpenAI's API (a local server speaking its wire format) and the SDK at
 * a real Tally server on the prompt-marketplace preset.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/http/server.ts';
import { TallyApiError, TallyClient } from '../src/sdk/client.ts';
import type { Tally } from '../src/service/tally.ts';
import { openTestTally } from './helpers.ts';

const ADMIN = 'sk_admin_openai_guide_0123456789';
let tally: Tally;
let server: RunningServer;
let upstream: Server;
let upstream_url: string;
let fail_next = false;

beforeAll(async () => {
  ({ tally } = await openTestTally({ config: 'prompt-marketplace', start: new Date().toISOString() }));
  await tally.access.createKey({ scope: 'admin', name: 'guide', secret: ADMIN });
  await tally.putAccount({ id: 'alice', kind: 'user' });
  server = await startServer({ tally, port: 0 });
  // What OpenAI answers a chat completion, usage included.
  upstream = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (fail_next) {
        fail_next = false;
        response.writeHead(500, { 'content-type': 'application/json' });
        return response.end(JSON.stringify({ error: { message: 'upstream failed', type: 'server_error' } }));
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'chatcmpl-guide',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 14, completion_tokens: 640, total_tokens: 654 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstream_url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
});

afterAll(async () => {
  await server?.close();
  upstream?.close();
  await tally?.close();
});

/** The guide's code block, made runnable here: its imports become arguments. */
function guide(): (
  openai: OpenAI,
  tally: TallyClient,
) => Promise<(account: string, request_id: string, question: string) => Promise<string | null>> {
  const markdown = readFileSync(new URL('../docs/meter-openai.md', import.meta.url), 'utf8');
  const code = /## The code\n\n```ts\n([\s\S]*?)```/.exec(markdown)![1]!;
  const body = code
    .replace(/^import .*$/gm, '')
    .replace(/^const openai = .*$/m, '')
    .replace(/^const tally = .*$/m, '')
    .replace(/: OpenAI\.CompletionUsage/g, '')
    .replace(/\(account: string, request_id: string, question: string\)/, '(account, request_id, question)')
    .replace(/function usageOf\(usage\)/, 'function usageOf(usage)')
    .replace('export async function answer', 'return async function answer')
    .replace(/completion\.usage!/g, 'completion.usage')
    .replace(/choices\[0\]!/g, 'choices[0]');
  return new Function('openai', 'tally', `return (async () => {${body}})();`) as never;
}

it("meters an OpenAI call as the guide does: the charge is the price of OpenAI's reported usage", async () => {
  const openai = new OpenAI({ baseURL: upstream_url, apiKey: 'sk-test', maxRetries: 0 });
  const client = new TallyClient({ url: server.url, credential: ADMIN });
  const answer = await guide()(openai, client);
  expect(await answer('alice', 'req-1', 'What is the capital of France?')).toBe('Paris.');
  const [charge] = (await tally.listCharges({ account: 'alice' })).data;
  // Exactly the price of what OpenAI reported, 14 input and 640 output tokens.
  const priced = await tally.estimate({
    account: 'alice',
    operation: 'prompt.run',
    model: 'gpt-4o',
    usage: { input_tokens: 14, output_tokens: 640 },
  });
  expect([charge!.usage, charge!.credits]).toEqual([
    { input_tokens: '14', output_tokens: '640' },
    priced.credits_expected,
  ]);
  expect(priced.credits_expected).toMatch(/^0\.6\d*$/);

  // A failed call gives the hold back: nothing is charged, nothing stays held.
  fail_next = true;
  await expect(answer('alice', 'req-2', 'And of Spain?')).rejects.toBeInstanceOf(OpenAI.APIError);
  expect((await tally.listCharges({ account: 'alice' })).data).toHaveLength(1);
  expect((await tally.getBalance('alice')).held).toBe('0');

  // An account without credits is refused before anything reaches OpenAI.
  await tally.putAccount({ id: 'bob', kind: 'user' });
  await tally.revokeGrant({ grant: (await tally.listGrants('bob'))[0]!.id, reason: 'guide' });
  const refused = await answer('bob', 'req-3', 'Hello?').catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(TallyApiError);
  expect((refused as TallyApiError).status).toBe(402);
});
