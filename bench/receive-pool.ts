/**
 * The default 'data' path's receive allocation: slices of a shared slab
 * (receive-pool.ts, 'pool') against one Buffer per read ('fresh'), with
 * onread into one reused 64 KiB buffer (no allocation at all) for scale.
 * The peer in another process sends; this process receives and only
 * counts (so allocation is all the receiving work there is besides the
 * copy). Every repetition runs all three, interleaved, on a fresh
 * connection each. Prints medians of MB/s and of the receiver's CPU
 * seconds per GB, and the ratios to 'fresh'; and, in the same run, an
 * in-process memcpy of the same chunk size (throughput.ts), the ceiling
 * onread is compared with.
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
import { memcpyOneWay } from './throughput.js';

const REPS = Number(process.argv[2] ?? 5);
const MIB = Number(process.argv[3] ?? 256);
const SIZES = [1024, 16 * 1024, 64 * 1024, 1024 * 1024];
type Kind = ReceiveAllocation | 'onread';
const KINDS: Kind[] = ['fresh', 'pool', 'onread'];

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
/** Bytes the onread server's callback has seen on the current sample. */
let onreadBytes = 0;
const onreadPath = join(dir, 'o');
const onreadServer = createServer({ onread: { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n) => void (onreadBytes += n) } });
onreadServer.listen(onreadPath);
await once(onreadServer, 'listening');
const peer = fork(fileURLToPath(new URL('./receive-pool-sender.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await once(peer, 'message');

async function sample(kind: Kind, size: number): Promise<Sample> {
  if (kind !== 'onread') setReceiveAllocation(kind);
  const bytes = Math.floor((MIB * 1024 * 1024) / size) * size;
  const sent = new Promise<{ cpuSeconds: number }>((r) => peer.once('message', r));
  const srv = kind === 'onread' ? onreadServer : server;
  peer.send({ cmd: 'send', path: kind === 'onread' ? onreadPath : path, size, bytes });
  const [conn] = (await once(srv, 'connection')) as [Conn];
  // Timed from the accept: the first bytes follow at once (the onread callback cannot start a clock per sample).
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let got = 0;
  onreadBytes = 0;
  if (kind !== 'onread') conn.on('data', (d: Buffer) => void (got += d.length));
  await once(conn, 'end');
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (kind === 'onread') got = onreadBytes;
  await once(conn, 'close');
  const { cpuSeconds } = await sent;
  const gb = got / 1e9;
  return { mbps: got / 1e6 / (ms / 1000), rxCpuPerGB: (cpu.user + cpu.system) / 1e6 / gb, txCpuPerGB: cpuSeconds / gb };
}

const results = new Map<string, Sample[]>();
for (let rep = 0; rep < REPS; rep++) {
  for (const size of SIZES) {
    // Rotate which goes first, so none always runs on a warmer heap.
    const order = KINDS.map((_, i) => KINDS[(i + rep) % KINDS.length]!);
    for (const kind of order) {
      const key = `${kind} ${size}`;
      const s = await sample(kind, size);
      (results.get(key) ?? results.set(key, []).get(key)!).push(s);
    }
    const copy = memcpyOneWay(size, 100, 300);
    (results.get(`memcpy ${size}`) ?? results.set(`memcpy ${size}`, []).get(`memcpy ${size}`)!).push({ mbps: copy.mbps, rxCpuPerGB: NaN, txCpuPerGB: NaN });
  }
}
peer.send({ cmd: 'exit' });
server.close();
onreadServer.close();
rmSync(dir, { recursive: true, force: true });

const kib = (n: number) => (n >= 1024 * 1024 ? `${n / 1024 / 1024} MiB` : `${n / 1024} KiB`);
const med = (key: string, f: (s: Sample) => number) => median(results.get(key)!.map(f));
console.log(`\n#### Receive paths: one Buffer per read, pool (${SLAB_SIZE / 1024} KiB slabs), onread (one 64 KiB buffer)\n`);
console.log(`medians of ${REPS} interleaved runs, ${MIB} MiB per sample, sender in another process, receiver counts bytes\n`);
console.log('| writes | fresh MB/s | pool MB/s | onread MB/s | pool / fresh | onread / fresh | rx CPU s/GB fresh | pool | onread | sender CPU s/GB (fresh) | memcpy MB/s | onread / memcpy |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const size of SIZES) {
  const m = (kind: Kind) => med(`${kind} ${size}`, (s) => s.mbps);
  const c = (kind: Kind) => med(`${kind} ${size}`, (s) => s.rxCpuPerGB);
  const cells = [
    kib(size),
    m('fresh').toFixed(0),
    m('pool').toFixed(0),
    m('onread').toFixed(0),
    `${(m('pool') / m('fresh')).toFixed(2)}×`,
    `${(m('onread') / m('fresh')).toFixed(2)}×`,
    c('fresh').toFixed(3),
    c('pool').toFixed(3),
    c('onread').toFixed(3),
    med(`fresh ${size}`, (s) => s.txCpuPerGB).toFixed(3),
    m('memcpy' as Kind).toFixed(0),
    `${((100 * m('onread')) / m('memcpy' as Kind)).toFixed(0)}%`,
  ];
  console.log(`| ${cells.join(' | ')} |`);
}
console.log(`\n_Measured on ${describeMachine(machineInfo())}._`);
