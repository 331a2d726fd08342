import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyError } from '../src/domain/results.ts';
import { reserveCommand, settleCommand } from '../src/service/commands/runs.ts';
import { type EngineThread, startEngineThread } from './engine-thread.ts';

describe('the engine on a worker thread', () => {
  const directory = mkdtempSync(join(tmpdir(), 'tally-engine-thread-'));
  let engine: EngineThread;
  beforeAll(async () => {
    engine = await startEngineThread({
      filename: join(directory, 'engine.db'),
      config: { price_book: { operations: { run: { rates: { credits: '1' } } } } },
    });
    await engine.tally.putAccount({ id: 'alice', kind: 'user' });
    await engine.tally.issueGrant({ account: 'alice', kind: 'bonus', amount: '10' });
  });
  afterAll(async () => {
    await engine.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('runs commands there: their answers, their replays and their refusals come back as in one thread', async () => {
    const { tally } = engine;
    const reserved = (await tally.run(reserveCommand, {
      account: 'alice',
      operation: 'run',
      max_credits: '3',
    })) as {
      id: string;
    };
    let replayed = false;
    const settle = { reservation: reserved.id, usage: { credits: 2 } };
    const options = { idempotency_key: 'settle-1', on_replay: () => (replayed = true) };
    const first = await tally.run(settleCommand, settle, options);
    expect(replayed).toBe(false);
    expect(await tally.run(settleCommand, settle, options)).toEqual(first);
    expect(replayed).toBe(true);
    expect((await tally.getBalance('alice')).available).toBe('8');

    const refused = await tally
      .run(reserveCommand, { account: 'alice', operation: 'run', max_credits: '9' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TallyError);
    expect((refused as TallyError).code).toBe('insufficient_credits');
    expect((refused as TallyError).status).toBe(402);
  });
});
