/**
 * Does the direction matter? 64 KiB writes (or the size given) with
 * backpressure for a fixed time, the writer always in this process: once
 * as the client writing to a server-side Conn in the peer process
 * ('client → server'), once as a server-side Conn writing to a client in
 * the peer ('server → client'). Each with the receiver's 'data' path
 * reading into slab slices ('pool', the default) and into one Buffer per
 * read ('fresh'). Every repetition runs the four, interleaved, on fresh
 * connections. Prints the medians and ranges of MB/s and the ratio of the
 * two directions.
 *
 *   npm run build:ts && node dist/bench/direction.js [reps] [ms per sample] [chunk bytes]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createServer, type Conn } from '../src/index.js';
import type { ReceiveAllocation } from '../src/stream/receive-pool.js';
import { describeMachine, machineInfo } from './machine.js';
import { median } from './stats.js';

const REPS = Number(process.argv[2] ?? 5);
const MS = Number(process.argv[3] ?? 1500);
const SIZE = Number(process.argv[4] ?? 64 * 1024);
type Direction = 'client → server' | 'server → client';
const DIRECTIONS: Direction[] = ['client → server', 'server → client'];
const ALLOCATIONS: ReceiveAllocation[] = ['pool', 'fresh'];

const dir = mkdtempSync(join(tmpdir(), 'shmnet-direction-'));
const peer = fork(fileURLToPath(new URL('./direction-peer.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await once(peer, 'message');
const next = (event: string) =>
  new Promise<Record<string, number>>((resolve) => {
    const on = (m: { event: string }) => {
      if (m.event !== event) return;
      peer.off('message', on);
      resolve(m as unknown as Record<string, number>);
    };
    peer.on('message', on);
  });

/** Writes `SIZE`-byte chunks as fast as backpressure allows for MS ms, then ends. */
function writeFor(conn: Conn): Promise<void> {
  const chunk = Buffer.alloc(SIZE, 0x5a);
  const until = performance.now() + MS;
  return new Promise((resolve) => {
    const pump = (): void => {
      while (performance.now() < until) if (!conn.write(chunk)) return void conn.once('drain', pump);
      conn.end();
      resolve();
    };
    pump();
  });
}

let n = 0;
async function sample(direction: Direction, allocation: ReceiveAllocation): Promise<number> {
  const path = join(dir, `s${n++}`);
  let conn: Conn;
  const got = next('got');
  if (direction === 'client → server') {
    const listening = next('listening');
    peer.send({ cmd: 'serve', path, allocation });
    await listening;
    conn = connect({ path });
    await once(conn, 'connect');
  } else {
    const server = createServer();
    server.listen(path);
    await once(server, 'listening');
    peer.send({ cmd: 'dial', path, allocation });
    [conn] = (await once(server, 'connection')) as [Conn];
    server.close();
  }
  conn.resume();
  const closed = once(conn, 'close');
  const t0 = performance.now();
  await writeFor(conn);
  const { bytes } = await got;
  const seconds = (performance.now() - t0) / 1000;
  await closed;
  return bytes! / 1e6 / seconds;
}

const results = new Map<string, number[]>();
for (let rep = 0; rep < REPS; rep++) {
  for (let i = 0; i < 4; i++) {
    // Rotate the order, so no case always runs first.
    const k = (i + rep) % 4;
    const direction = DIRECTIONS[k % 2]!;
    const allocation = ALLOCATIONS[k >> 1]!;
    const key = `${direction} ${allocation}`;
    (results.get(key) ?? results.set(key, []).get(key)!).push(await sample(direction, allocation));
  }
}
peer.send({ cmd: 'exit' });
rmSync(dir, { recursive: true, force: true });

const fmt = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
console.log(`\n#### Direction: ${SIZE}-byte writes with backpressure for ${MS} ms, writer in this process\n`);
console.log(`medians of ${REPS} interleaved runs (range in brackets), MB/s\n`);
console.log('| receive allocation | client → server | server → client | server→client / client→server |');
console.log('|---|---|---|---|');
for (const a of ALLOCATIONS) {
  const c2s = results.get(`client → server ${a}`)!;
  const s2c = results.get(`server → client ${a}`)!;
  console.log(`| ${a} | ${fmt(c2s)} | ${fmt(s2c)} | ${(median(s2c) / median(c2s)).toFixed(2)}× |`);
}
console.log(`\n_${describeMachine(machineInfo())}_`);
