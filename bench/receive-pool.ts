/**
 * The default 'data' path's receive allocation: slices of a shared slab
 * (receive-pool.ts, 'pool') against one Buffer per read ('fresh'). The
 * peer in another process sends; this process receives and only counts
 * (so allocation is all the receiving work there is besides the copy).
 * Every repetition runs both, interleaved, on a fresh connection each.
 * Prints medians of MB/s and of the receiver's CPU seconds per GB, and
 * the ratios pool / fresh.
 *
 *   npm run build:ts && node dist/bench/receive-pool.js [reps] [MiB per sample]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Conn } from '../src/index.js';
import { setReceiveAllocation, SLAB_SIZE, type ReceiveAllocation } from '../src/stream/receive-pool.js';
import { describeMachine, machineInfo } from './machine.js';
import { median } from './stats.js';

const REPS = Number(process.argv[2] ?? 5);
const MIB = Number(process.argv[3] ?? 256);
const SIZES = [1024, 16 * 1024, 64 * 1024, 1024 * 1024];
const KINDS: ReceiveAllocation[] = ['fresh', 'pool'];

interface Sample {
  mbps: number;
  rxCpuPerGB: number;
  txCpuPerGB: number;
}

const dir = mkdtempSync(join(tmpdir(), 'shmnet-rxpool-'));
const path = join(dir, 's');
const server = createServer();
server.listen(path);
await once(server, 'listening');
const peer = fork(fileURLToPath(new URL('./receive-pool-sender.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await once(peer, 'message');

async function sample(kind: ReceiveAllocation, size: number): Promise<Sample> {
  setReceiveAllocation(kind);
  const bytes = Math.floor((MIB * 1024 * 1024) / size) * size;
  const sent = new Promise<{ cpuSeconds: number }>((r) => peer.once('message', r));
  peer.send({ cmd: 'send', path, size, bytes });
  const [conn] = (await once(server, 'connection')) as [Conn];
  let got = 0;
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  conn.on('data', (d: Buffer) => {
    if (got === 0) {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    }
    got += d.length;
  });
  await once(conn, 'end');
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await once(conn, 'close');
  const { cpuSeconds } = await sent;
  const gb = got / 1e9;
  return { mbps: got / 1e6 / (ms / 1000), rxCpuPerGB: (cpu.user + cpu.system) / 1e6 / gb, txCpuPerGB: cpuSeconds / gb };
}

const results = new Map<string, Sample[]>();
for (let rep = 0; rep < REPS; rep++) {
  for (const size of SIZES) {
    // Alternate which goes first, so neither always runs on a warmer heap.
    const order = rep % 2 === 0 ? KINDS : [...KINDS].reverse();
    for (const kind of order) {
      const key = `${kind} ${size}`;
      const s = await sample(kind, size);
      (results.get(key) ?? results.set(key, []).get(key)!).push(s);
    }
  }
}
peer.send({ cmd: 'exit' });
server.close();
rmSync(dir, { recursive: true, force: true });

const kib = (n: number) => (n >= 1024 * 1024 ? `${n / 1024 / 1024} MiB` : `${n / 1024} KiB`);
const med = (key: string, f: (s: Sample) => number) => median(results.get(key)!.map(f));
console.log(`\n#### Receive allocation: pool (${SLAB_SIZE / 1024} KiB slabs) vs one Buffer per read\n`);
console.log(`medians of ${REPS} interleaved runs, ${MIB} MiB per sample, sender in another process, receiver counts bytes\n`);
console.log('| writes | fresh MB/s | pool MB/s | pool / fresh | fresh rx CPU s/GB | pool rx CPU s/GB | pool / fresh |');
console.log('|---|---|---|---|---|---|---|');
for (const size of SIZES) {
  const fm = med(`fresh ${size}`, (s) => s.mbps);
  const pm = med(`pool ${size}`, (s) => s.mbps);
  const fc = med(`fresh ${size}`, (s) => s.rxCpuPerGB);
  const pc = med(`pool ${size}`, (s) => s.rxCpuPerGB);
  console.log(`| ${kib(size)} | ${fm.toFixed(0)} | ${pm.toFixed(0)} | ${(pm / fm).toFixed(2)}× | ${fc.toFixed(3)} | ${pc.toFixed(3)} | ${(pc / fc).toFixed(2)}× |`);
}
console.log(`\n_Measured on ${describeMachine(machineInfo())}._`);
