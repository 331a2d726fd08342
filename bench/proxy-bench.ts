/**
 * X1: what the metering proxy adds to a call. The same non-streaming and streaming chat
 * completions go straight to a stand-in provider (a local server answering at once), then
 * through Tally (`tally serve`'s proxy, on an in-memory SQLite store) to the same provider, in
 * the same run: the latency added at p50 and p99, sequentially (no contention); the throughput
 * through Tally against direct under a closed loop; and p99 at half the proxy's throughput (an
 * open loop at the same rate, direct and proxied), the load the proxy's p99 goal is set at.
 */
import { createServer, type Server } from 'node:http';
import { startServer } from '../src/http/server.ts';
import { createTally } from '../src/index.ts';
import { closedLoop, type Measured, openLoop, sequential } from './measure.ts';

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
});
const chunk = (fields: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'bench-model', ...fields })}\n\n`;
const STREAM = [
  ...['Hello', ' there', ', how', ' can', ' I', ' help', '?'].map((content) =>
    chunk({ choices: [{ index: 0, delta: { content }, finish_reason: null }] }),
  ),
  chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
  chunk({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } }),
  'data: [DONE]\n\n',
].join('');

export interface ProxyFigures {
  direct: { whole: Measured; streamed: Measured; throughput: Measured; half_load: Measured };
  proxied: { whole: Measured; streamed: Measured; throughput: Measured; half_load: Measured };
  /** Calls per second of the half-load point: half of what the proxy managed under the closed loop. */
  half_load_rate: number;
}

export async function measureProxy(options: {
  count: number;
  duration_ms: number;
  concurrency: number;
}): Promise<ProxyFigures> {
  const provider: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (part: Buffer) => (raw += part.toString()));
    request.on('end', () => {
      const streamed = raw.includes('"stream":true');
      response.writeHead(200, { 'content-type': streamed ? 'text/event-stream' : 'application/json' });
      response.end(streamed ? STREAM : COMPLETION);
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const base_url = `http://127.0.0.1:${(provider.address() as { port: number }).port}/v1`;
  const tally = await createTally({
    config: {
      price_book: { operations: { chat: { rates: { input_tokens: '0.001', output_tokens: '0.002' } } } },
      proxy: {
        upstreams: { bench: { base_url } },
        models: {
          'bench-model': {
            upstream: 'bench',
            operation: 'chat',
            max_output_tokens: 1_000,
            default_max_tokens: 100,
          },
        },
      },
    },
  });
  await tally.putAccount({ id: 'caller', kind: 'user' });
  await tally.issueGrant({ account: 'caller', kind: 'purchased', amount: '1000000000' });
  const token = (await tally.access.mintCustomerToken('caller')).token;
  const server = await startServer({ tally, port: 0 });
  const body = (stream: boolean) =>
    JSON.stringify({ model: 'bench-model', stream, messages: [{ role: 'user', content: 'Say hello.' }] });
  const call = (url: string, stream: boolean) => async () => {
    const response = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body(stream),
    });
    await response.text();
    if (!response.ok) throw new Error(`proxy answered ${response.status}`);
  };
  const run = async (url: string) => {
    // Warm-up: connections, the tokenizer, the account's memory.
    for (let index = 0; index < 50; index++) await call(url, index % 2 === 0)();
    return {
      whole: await sequential(options.count, call(url, false)),
      streamed: await sequential(options.count, call(url, true)),
      throughput: await closedLoop(options.concurrency, options.duration_ms, call(url, false)),
    };
  };
  try {
    const direct = await run(base_url);
    const proxied = await run(`${server.url}/v1`);
    const half_load_rate = Math.max(1, Math.floor(proxied.throughput.per_second / 2));
    const atHalfLoad = (url: string) => openLoop(half_load_rate, options.duration_ms, call(url, false));
    return {
      direct: { ...direct, half_load: await atHalfLoad(base_url) },
      proxied: { ...proxied, half_load: await atHalfLoad(`${server.url}/v1`) },
      half_load_rate,
    };
  } finally {
    await server.close();
    provider.close();
    await tally.close();
  }
}
