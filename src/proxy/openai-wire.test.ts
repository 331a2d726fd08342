import { describe, expect, it } from 'vitest';
import { eventData, sseEventBatches } from './openai-wire.ts';

async function* reads(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

async function batchesOf(...parts: string[]): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const batch of sseEventBatches(reads(...parts))) batches.push(batch);
  return batches;
}

describe('Server-Sent Events from a provider', () => {
  it('hands on the events each read completed, together, and keeps a split event for the next read', async () => {
    expect(await batchesOf('data: 1\n\ndata: 2\n\ndata: 3', '\n\ndata: [DONE]\n\n')).toEqual([
      ['data: 1', 'data: 2'],
      ['data: 3', 'data: [DONE]'],
    ]);
  });

  it('waits through reads that complete no event, and keeps a last event with no blank line after it', async () => {
    expect(await batchesOf('da', 'ta: {"a"', ':1}\n', '\ndata: tail')).toEqual([
      ['data: {"a":1}'],
      ['data: tail'],
    ]);
  });

  it('decodes a character split across two reads', async () => {
    const euro = new TextEncoder().encode('data: €\n\n');
    async function* split() {
      yield euro.slice(0, 7);
      yield euro.slice(7);
    }
    const batches: string[][] = [];
    for await (const batch of sseEventBatches(split())) batches.push(batch);
    expect(batches).toEqual([['data: €']]);
  });

  it('reads an event’s data lines, and none from a comment', () => {
    expect(eventData('event: x\ndata: {"a":\ndata: 1}')).toBe('{"a":\n1}');
    expect(eventData(': keep-alive')).toBeUndefined();
  });
});
