/**
 * The waiting policy inside real Conns (both ends in this process):
 *   - after request/response traffic taught both ends to spin for replies,
 *     an idle pair parks and then spins no more and costs ~no CPU;
 *   - two pairs ping-ponging flat out in one process both progress, the
 *     event loop's timers keep running, and an idle third pair next to
 *     them does not spin.
 */
import t from 'tap';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Conn, type Server } from '../../src/index.js';
import { shmEntries } from '../helpers/peer.js';

const OWN_NAMES = `shmnet.${process.pid.toString(36)}.`;
t.teardown(() => {
  const left = shmEntries(OWN_NAMES);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

interface Pair {
  client: Conn;
  server: Conn;
  close(): Promise<void>;
}

/** A client Conn and the server's Conn for it; the server side echoes everything. */
async function echoPair(srv: Server, port: number): Promise<Pair> {
  const client = connect({ port, host: '127.0.0.1' });
  const [[server]] = await Promise.all([once(srv, 'connection') as Promise<[Conn]>, once(client, 'connect')]);
  t.equal(client.transport, 'shm');
  server.on('data', (d: Buffer) => {
    if (server.writable) server.write(d);
  });
  return {
    client,
    server,
    async close() {
      const closed = Promise.all([once(client, 'close'), once(server, 'close')]);
      client.end();
      server.end();
      await closed;
    },
  };
}

/** `n` sequential 64-byte round trips. */
async function exchanges(p: Pair, n: number): Promise<void> {
  const msg = Buffer.alloc(64, 1);
  for (let i = 0; i < n; i++) {
    const got = once(p.client, 'data');
    p.client.write(msg);
    await got;
  }
}

const num = (c: Conn, k: string) => c.stats()[k] as number;

/** Resolves once `cond()` holds, checked every few ms; rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function listening(): Promise<{ srv: Server; port: number }> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { srv, port: (srv.address() as AddressInfo).port };
}

t.test('an idle pair parks after request/response traffic and then spins no more', async (t) => {
  const { srv, port } = await listening();
  const p = await echoPair(srv, port);
  p.client.on('data', () => {});
  await exchanges(p, 300);
  t.ok(num(p.client, 'replies') > 0 && num(p.server, 'replies') > 0, 'both ends measured reply waits');
  t.comment(`client ${JSON.stringify(p.client.stats())}`);
  // Both ends wait for data now; each parks once its budget is spent (perhaps already).
  await until(() => p.client.stats().parked === true && p.server.stats().parked === true, 30_000, 'both ends parked');
  const spins = [num(p.client, 'spinTurns'), num(p.server, 'spinTurns')];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 1000));
  const cpu = process.cpuUsage(cpu0);
  const share = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
  t.same([num(p.client, 'spinTurns'), num(p.server, 'spinTurns')], spins, 'no spin turn while idle');
  t.ok(share < 0.05, `the process used ${(share * 100).toFixed(2)}% of a core while idle`);
  // And it still answers, woken by the doorbell.
  await exchanges(p, 3);
  await p.close();
  srv.close();
});

t.test('two busy pairs in one process share it: both progress, timers run, an idle pair does not spin', async (t) => {
  const { srv, port } = await listening();
  const idle = await echoPair(srv, port);
  idle.client.on('data', () => {});
  await exchanges(idle, 50);
  await until(() => idle.client.stats().parked === true && idle.server.stats().parked === true, 30_000, 'the idle pair parked');
  const idleSpins = [num(idle.client, 'spinTurns'), num(idle.server, 'spinTurns')];

  const busy = [await echoPair(srv, port), await echoPair(srv, port)];
  const counts = [0, 0];
  let running = true;
  const msg = Buffer.alloc(64, 2);
  busy.forEach((p, i) => {
    p.client.on('data', () => {
      counts[i]!++;
      if (running && p.client.writable) p.client.write(msg);
    });
    p.client.write(msg);
  });
  let last = performance.now();
  let maxGap = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 10);
  await new Promise((r) => setTimeout(r, 1500));
  clearInterval(iv);
  maxGap = Math.max(maxGap, performance.now() - last);
  running = false;
  t.comment(`round trips ${counts.join(' / ')}, longest timer gap ${maxGap.toFixed(1)} ms`);
  t.ok(Math.min(...counts) > 200, `both pairs progressed (${counts.join(', ')})`);
  t.ok(Math.min(...counts) >= Math.max(...counts) / 4, 'neither pair starved the other');
  t.ok(maxGap < 250, `timers kept running: longest gap ${maxGap.toFixed(1)} ms`);
  t.same([num(idle.client, 'spinTurns'), num(idle.server, 'spinTurns')], idleSpins, 'the idle pair did not spin meanwhile');
  await Promise.all([...busy, idle].map((p) => p.close()));
  srv.close();
});
