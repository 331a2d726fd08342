import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestTally } from '../../test/helpers.ts';
import { REQUEST_BODY_BYTES_MAX } from '../domain/limits.ts';
import type { Tally } from '../service/tally.ts';
import { type RunningServer, startServer } from './server.ts';

const ADMIN = 'sk_admin_server_0123456789abcdef';
let tally: Tally;
let server: RunningServer;

beforeAll(async () => {
  ({ tally } = await openTestTally());
  await tally.access.createKey({ scope: 'admin', name: 'server test', secret: ADMIN });
  await tally.putAccount({ id: 'alice', kind: 'user' });
  await tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '100' });
  server = await startServer({ tally, port: 0 });
});
afterAll(async () => {
  await server.close();
  await tally.close();
});

/** A POST over a real socket, its body sent with a Content-Length or in chunks. */
function post(path: string, chunks: string[], framing: 'content-length' | 'chunked') {
  const body = chunks.join('');
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const outgoing = request(`${server.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        'content-type': 'application/json',
        ...(framing === 'content-length' ? { 'content-length': Buffer.byteLength(body) } : {}),
      },
    });
    outgoing.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
    });
    // A socket error before the answer (the server closing on a body it refused) fails the test.
    outgoing.on('error', reject);
    for (const chunk of chunks) outgoing.write(chunk);
    outgoing.end();
  });
}

describe('HTTP server', () => {
  const oversized = (framing: 'content-length' | 'chunked') =>
    post(
      '/v1/reservations',
      [`{"account":"alice","operation":"chat.fast","padding":"`, 'x'.repeat(REQUEST_BODY_BYTES_MAX), '"}'],
      framing,
    );

  it('refuses a body over the limit with 413, whether its length is declared or it comes in chunks', async () => {
    for (const framing of ['content-length', 'chunked'] as const) {
      const response = await oversized(framing);
      expect([framing, response.status, response.body.code]).toEqual([framing, 413, 'payload_too_large']);
    }
  });

  it('closes a kept-alive connection after refusing a chunked body, so its unread rest is never taken for a request', async () => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    socket.write(
      `POST /v1/reservations HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\nauthorization: Bearer ${ADMIN}\r\n` +
        'content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    socket.write(chunk(`{"padding":"${'x'.repeat(REQUEST_BODY_BYTES_MAX)}`));
    await ended;
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received.toLowerCase()).toContain('connection: close');
    // One answer only: nothing of the refused body was answered as a request of its own.
    expect(received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });

  it('reads a body within the limit either way', async () => {
    for (const framing of ['content-length', 'chunked'] as const) {
      const response = await post(
        '/v1/reservations',
        ['{"account":"alice",', '"operation":"chat.fast","max_credits":"1"}'],
        framing,
      );
      expect([framing, response.status, response.body.status]).toEqual([framing, 200, 'held']);
    }
  });
});
