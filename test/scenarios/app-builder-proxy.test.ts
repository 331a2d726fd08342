/**
 * Seed 004 through the metering proxy: an app's OpenAI client pointed at Tally runs "standard AI
 * requests" and "AI requests with web search" (+15 credits), each priced by the preset's rates
 * from the usage the provider reports. The provider is a stand-in speaking OpenAI's wire format.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import type { Tally } from '../../src/service/tally.ts';
import { openTestTally } from '../helpers.ts';

const PRESET = new URL('../../examples/app-builder.yaml', import.meta.url).pathname;
let provider: Server;
let tally: Tally;
let server: RunningServer;
const asked: Record<string, unknown>[] = [];

beforeAll(async () => {
  // "short answer 500 in / 200 out → 3": the provider reports that usage for every call.
  provider = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      asked.push(JSON.parse(raw) as Record<string, unknown>);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'chatcmpl-app',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o-mini',
          choices: [
            { index: 0, message: { role: 'assistant', content: 'Here you go.' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 500, completion_tokens: 200, total_tokens: 700 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const preset = parseYaml(readFileSync(PRESET, 'utf8')) as {
    proxy: { upstreams: { openai: { base_url: string } } };
  };
  preset.proxy.upstreams.openai.base_url = `http://127.0.0.1:${(provider.address() as { port: number }).port}/v1`;
  ({ tally } = await openTestTally({ config: preset as never, start: new Date().toISOString() }));
  server = await startServer({ tally, port: 0 });
});

afterAll(async () => {
  await server?.close();
  provider?.close();
  await tally?.close();
});

it('runs "standard AI requests" and "AI requests with web search" through the proxy, priced by the preset', async () => {
  await tally.putAccount({ id: 'maker', kind: 'user' });
  await tally.subscribe({ account: 'maker', plan: 'free' }); // 1,000 credits a month
  const key = (await tally.access.mintCustomerToken('maker')).token;
  const app = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: 'Summarise my store’s sales this week.' }];

  await app.chat.completions.create({ model: 'gpt-4o-mini', messages });
  await app.chat.completions.create({ model: 'gpt-4o-mini', messages, web_search_options: {} });
  const [with_search, standard] = (await tally.listCharges({ account: 'maker' })).data;
  // 500 × 0.002 + 200 × 0.008 = 2.6 → at least 2, rounded up to 3; web search adds 15.
  expect([standard!.operation, standard!.credits, standard!.usage_source]).toEqual([
    'ai.standard',
    '3',
    'reported',
  ]);
  expect([with_search!.credits, with_search!.usage_source]).toEqual(['18', 'reported']);
  expect((await tally.getBalance('maker')).available).toBe('979');
  // The provider got the model and the request as the app sent them.
  expect(asked.map((body) => [body.model, 'web_search_options' in body])).toEqual([
    ['gpt-4o-mini', false],
    ['gpt-4o-mini', true],
  ]);
});
