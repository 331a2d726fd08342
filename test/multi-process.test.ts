/**
 * Many Tally processes on one PostgreSQL database (issue 6): real `tally serve` processes,
 * real HTTP, one real server.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTally } from '../src/index.ts';
import { TallyClient } from '../src/sdk/client.ts';
import { dialects } from './dialects.ts';
import { outcomes } from './helpers.ts';
import { createDatabase } from './postgres-server.ts';
import { startTallyServe } from './serve-process.ts';

const ADMIN = 'sk_admin_multi_process_0123456789';
const directory = mkdtempSync(join(tmpdir(), 'tally-multi-'));
const config = join(directory, 'tally.config.yaml');
writeFileSync(
  config,
  `webhooks:
  allow_loopback: true
# Earnings are payable at once here, so that payouts can race without moving a clock.
creators:
  payout_hold_days: 0
price_book:
  operations:
    run:
      rates: { credits: "1" }
    prompt:
      rates: { credits: "1" }
      creator_share: { basis: cost, rate: "0.1" }
`,
);

interface Process {
  url: string;
  child: ChildProcess;
  client: TallyClient;
}

async function startProcess(database_url: string, options: { test_clock?: boolean } = {}): Promise<Process> {
  const { child, url } = await startTallyServe(
    ['--database-url', database_url, '--config', config, ...(options.test_clock ? ['--test-clock'] : [])],
    ADMIN,
  );
  return { url, child, client: new TallyClient({ url, credential: ADMIN }) };
}

async function stopProcess(running: Process): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe.runIf(dialects.includes('postgres'))('many processes on one PostgreSQL database', () => {
  let database_url = '';
  let processes: Process[] = [];

  beforeAll(async () => {
    database_url = await createDatabase(inject('postgres_url'));
    // Four processes starting at once also migrate at once: one of them does it, the others wait.
    processes = await Promise.all([1, 2, 3, 4].map(() => startProcess(database_url)));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(processes.map(stopProcess));
  });

  it('never overspends: 200 concurrent reservations of 3 against 100 credits, spread over 4 processes → exactly 33', async () => {
    const [first] = processes;
    await first!.client.putAccount('shared', { kind: 'user' });
    await first!.client.issueGrant('shared', { kind: 'bonus', amount: '100' });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        processes[index % 4]!.client.reserve({ account: 'shared', operation: 'run', max_credits: '3' }).then(
          () => 'held',
          (error: { code?: string }) => error.code ?? 'error',
        ),
      ),
    );
    expect(answers.filter((answer) => answer === 'held')).toHaveLength(33);
    expect(answers.filter((answer) => answer === 'insufficient_credits')).toHaveLength(167);
    expect(await first!.client.balance('shared')).toMatchObject({ available: '1', held: '99' });
    const tally = await createTally({ database_url, config });
    const report = await tally.verify();
    await tally.close();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('executes one idempotency key once, sent to two processes at the same time', async () => {
    await processes[0]!.client.putAccount('twice', { kind: 'user' });
    await processes[0]!.client.issueGrant('twice', { kind: 'bonus', amount: '100' });
    for (let round = 0; round < 5; round++) {
      const key = `order-${round}`;
      const [a, b] = await Promise.all(
        [processes[1]!, processes[2]!].map((running) =>
          running.client.reserve(
            { account: 'twice', operation: 'run', max_credits: '3' },
            { idempotency_key: key },
          ),
        ),
      );
      expect(a!.id).toBe(b!.id);
    }
    expect((await processes[0]!.client.balance('twice')).held).toBe('15');
  });

  it('refunds a 1-credit charge at most once over: 20 refunds of 0.25 under their own keys, on two processes', async () => {
    const [a, b] = processes;
    await a!.client.putAccount('refunded', { kind: 'user' });
    await a!.client.issueGrant('refunded', { kind: 'purchased', amount: '10' });
    const charge = await a!.client.charge({ account: 'refunded', operation: 'run', usage: { credits: 1 } });
    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) =>
        [a!, b!][index % 2]!.client.refund(
          charge.id,
          { amount: '0.25', reason: 'race' },
          { idempotency_key: `refund-${index}` },
        ),
      ),
    );
    expect(counts).toEqual({ ok: 4, refund_exceeds_charge: 16 });
    expect(await b!.client.getCharge(charge.id)).toMatchObject({ refunded: '1' });
    expect((await a!.client.balance('refunded')).available).toBe('10');
  });

  it('charges within a daily limit counted from spend buckets: 20 charges of 1 under their own keys against a limit of 5, on two processes', async () => {
    const [a, b] = processes;
    await a!.client.putAccount('limited', { kind: 'user' });
    await a!.client.issueGrant('limited', { kind: 'bonus', amount: '100' });
    await a!.client.putLimit('limited', 'daily_runs', { window: 'day', max: '5' });
    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) =>
        [a!, b!][index % 2]!.client.charge(
          { account: 'limited', operation: 'run', usage: { credits: 1 } },
          { idempotency_key: `limited-${index}` },
        ),
      ),
    );
    expect(counts).toEqual({ ok: 5, insufficient_credits: 15 });
    expect((await b!.client.limits('limited')).data).toEqual([
      expect.objectContaining({ id: 'daily_runs', used: '5', remaining: '0' }),
    ]);
    expect((await a!.client.balance('limited')).available).toBe('95');
  });

  it('pays a creator at most what is payable: 20 payouts of 1 under their own keys against 5 earned, on two processes', async () => {
    const [a, b] = processes;
    for (const id of ['writer', 'reader']) await a!.client.putAccount(id, { kind: 'user' });
    await a!.client.issueGrant('reader', { kind: 'purchased', amount: '100' });
    // 50 credits of runs of the writer's prompt: 10 % is 5 credits earned.
    for (let index = 0; index < 5; index++) {
      await [a!, b!][index % 2]!.client.charge({
        account: 'reader',
        operation: 'prompt',
        usage: { credits: 10 },
        creator: 'writer',
      });
    }
    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) =>
        [a!, b!][index % 2]!.client.payout('writer', { amount: '1' }, { idempotency_key: `payout-${index}` }),
      ),
    );
    expect(counts).toEqual({ ok: 5, payout_exceeds_payable: 15 });
    expect(await b!.client.earnings('writer')).toMatchObject({ net: '5', paid: '5', payable: '0' });
    expect((await a!.client.payouts('writer')).data).toHaveLength(5);
  });

  it('40 concurrent reservations by 4 members of one team pool, one near his limit, on two processes: no member past his limit, the pool never below zero', async () => {
    const [a, b] = processes;
    await a!.client.putAccount('squad', { kind: 'team' });
    await a!.client.issueGrant('squad', { kind: 'purchased', amount: '100' });
    for (const member of ['m1', 'm2', 'm3', 'm4']) {
      await a!.client.putAccount(member, { kind: 'user' });
      await a!.client.putMember('squad', member, {
        role: member === 'm1' ? 'owner' : 'member',
        ...(member === 'm4' ? { limits: { day: '10' } } : {}),
      });
    }
    // m4 has used 7 of his 10 today: one more reservation of 3 fits him, no second.
    await b!.client.charge({ account: 'squad', member: 'm4', operation: 'run', usage: { credits: 7 } });
    const counts = await outcomes(
      Array.from({ length: 40 }, (_, index) =>
        [a!, b!][index % 2]!.client.reserve(
          { account: 'squad', member: `m${(index % 4) + 1}`, operation: 'run', max_credits: '3' },
          { idempotency_key: `squad-${index}` },
        ),
      ),
    );
    // 93 credits left in the pool: 30 reservations of m1..m3 and m4's one take them all, exactly.
    expect(counts).toEqual({ ok: 31, insufficient_credits: 9 });
    const held = (await a!.client.reservations('squad', { limit: 200 })).data.filter(
      (reservation) => reservation.status === 'held',
    );
    const by_member: Record<string, number> = {};
    for (const reservation of held)
      by_member[reservation.member!] = (by_member[reservation.member!] ?? 0) + 1;
    expect(by_member).toEqual({
      m1: 10,
      m2: 10,
      m3: 10,
      m4: 1,
    });
    expect(await b!.client.balance('squad')).toMatchObject({ available: '0', held: '93' });
  });

  it('compensates a 1-credit charge at most once over: 20 compensations of 0.25 under their own keys, on two processes', async () => {
    const [a, b] = processes;
    await a!.client.putAccount('compensated', { kind: 'user' });
    await a!.client.issueGrant('compensated', { kind: 'purchased', amount: '10' });
    const charge = await a!.client.charge({
      account: 'compensated',
      operation: 'run',
      usage: { credits: 1 },
    });
    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) =>
        [a!, b!][index % 2]!.client.compensate(
          'compensated',
          { charges: [charge.id], amount: '0.25', reason: 'race' },
          { idempotency_key: `compensate-${index}` },
        ),
      ),
    );
    expect(counts).toEqual({ ok: 4, compensation_exceeds_charges: 16 });
    expect(await b!.client.getCharge(charge.id)).toMatchObject({ refunded: '1' });
    expect((await a!.client.balance('compensated')).available).toBe('10');
  });

  it('revokes a grant once: 20 revocations under their own keys, on two processes', async () => {
    const [a, b] = processes;
    await a!.client.putAccount('revoked', { kind: 'user' });
    const grant = await a!.client.issueGrant('revoked', { kind: 'bonus', amount: '10' });
    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) =>
        [a!, b!][index % 2]!.client.revokeGrant(
          grant.id,
          { reason: 'race' },
          { idempotency_key: `revoke-${index}` },
        ),
      ),
    );
    expect(counts).toEqual({ ok: 1, grant_not_active: 19 });
    expect((await b!.client.balance('revoked')).available).toBe('0');
  });

  it('answers a settle or release retried on two processes with the first answer, never a 409', async () => {
    const [a, b] = processes;
    await a!.client.putAccount('retried', { kind: 'user' });
    await a!.client.issueGrant('retried', { kind: 'bonus', amount: '1000' });
    for (let round = 0; round < 20; round++) {
      const reservation = await a!.client.reserve({ account: 'retried', operation: 'run', max_credits: '3' });
      const resolve = (running: Process) =>
        round % 2 === 0
          ? running.client.settle(
              reservation.id,
              { usage: { credits: 2 } },
              { idempotency_key: `end-${round}` },
            )
          : running.client.release(reservation.id, {}, { idempotency_key: `end-${round}` });
      const answers = await Promise.all([resolve(a!), resolve(b!), resolve(a!), resolve(b!)]);
      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    }
    // Ten settled at 2 credits each, ten released.
    expect(await a!.client.balance('retried')).toMatchObject({ available: '980', held: '0' });
    const tally = await createTally({ database_url, config });
    const report = await tally.verify();
    await tally.close();
    expect(report.problems).toEqual([]);
  });
});

describe.runIf(dialects.includes('postgres'))('a process that dies holding a job lease', () => {
  let receiver: Server;
  const requests: string[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push(body);
        // The first delivery attempt hangs: its worker will die holding the lease.
        if (requests.length === 1) return;
        response.statusCode = 204;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('loses the lease, and another process completes the job once', async () => {
    const database_url = await createDatabase(inject('postgres_url'));
    const [a, b] = await Promise.all([
      startProcess(database_url, { test_clock: true }),
      startProcess(database_url, { test_clock: true }),
    ]);
    try {
      const hooks = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      const endpoint = await a.client.createWebhookEndpoint({ url: hooks, events: ['balance.low'] });
      await a.client.putAccount('watched', { kind: 'user', low_balance_threshold: '50' });
      await a.client.issueGrant('watched', { kind: 'bonus', amount: '60' });
      await a.client.charge({ account: 'watched', operation: 'run', usage: { credits: 20 } }); // balance.low

      // A's pass claims the delivery and hangs on the receiver; then A is killed outright.
      const stalled = fetch(`${a.url}/v1/test/clock`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ advance_seconds: 0 }),
      }).catch(() => 'killed');
      while (requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));
      a.child.kill('SIGKILL');
      expect(await stalled).toBe('killed');

      // Before the lease lapses B leaves the delivery alone; after, B completes it.
      const early = await fetch(`${b.url}/v1/test/clock`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ advance_seconds: 30 }),
      });
      expect(((await early.json()) as { webhooks: { delivered: number } }).webhooks.delivered).toBe(0);
      const late = await fetch(`${b.url}/v1/test/clock`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ advance_seconds: 60 }),
      });
      expect(((await late.json()) as { webhooks: { delivered: number } }).webhooks.delivered).toBe(1);

      const [delivery] = (await b.client.webhookDeliveries(endpoint.id)).data;
      expect(delivery).toMatchObject({ status: 'succeeded' });
      // Only B's attempt is in the log: A died before it could write one.
      expect(delivery!.attempts.map((attempt) => attempt.status_code)).toEqual([204]);
      expect(requests).toHaveLength(2);
      expect(new Set(requests.map((body) => (JSON.parse(body) as { id: string }).id)).size).toBe(1);
    } finally {
      await Promise.all([stopProcess(a), stopProcess(b)]);
    }
  }, 120_000);
});
