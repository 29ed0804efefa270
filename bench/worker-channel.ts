/**
 * Worker channel vs MessagePort: one-way throughput from a worker thread
 * to the main thread, for 1 KiB and 64 KiB chunks.
 *
 *   node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/worker-channel.ts [MiB per run] [runs]
 *   node dist/bench/worker-channel.js [MiB per run] [runs]          (after npm run build)
 *
 * Columns, each a fresh worker per run, median of `runs` (default 5):
 *   - channel: `openChannel()` Conn in the worker, `conn.write(chunk)` per
 *     chunk with backpressure; the main thread counts 'data' bytes. Once
 *     with the defaults (1 MiB ring, spin 100 µs) and once tuned for
 *     throughput (`createChannel({ ringSize: 4 MiB, spin: 1000 })`);
 *   - MessagePort (clone): `port.postMessage(chunk)` per chunk (structured
 *     clone copies the bytes), credit-based flow control (4 MiB in flight);
 *   - MessagePort (transfer): a fresh ArrayBuffer per chunk, filled and
 *     transferred (no clone copy, one allocation + one fill per chunk).
 * Ratios are channel / MessagePort in the same run. Targets (issue 6):
 * ≥ 10× MessagePort at 1 KiB and ≥ 2× at 64 KiB.
 */
import { cpus } from 'node:os';
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { createChannel, openChannel, type ChannelPort } from '../src/channel/index.js';

type Kind = 'channel' | 'tuned' | 'clone' | 'transfer';
interface Job {
  kind: Kind;
  size: number;
  total: number;
  port?: ChannelPort | MessagePort;
}

/** createChannel options per channel column. */
const CHANNEL_OPTIONS = {
  channel: {},
  tuned: { ringSize: 4 * 1024 * 1024, spin: 1000 },
} as const;

const WINDOW = 4 * 1024 * 1024;
const ACK_EVERY = 256 * 1024;

// ---- worker side -----------------------------------------------------------

function runWorker(job: Job): void {
  const chunk = Buffer.alloc(job.size, 0x61);
  const count = Math.floor(job.total / job.size);
  parentPort!.once('message', () => {
    if (job.kind === 'channel' || job.kind === 'tuned') {
      const conn = openChannel(job.port as ChannelPort);
      let i = 0;
      const pump = (): void => {
        while (i < count) {
          i++;
          if (!conn.write(chunk)) {
            conn.once('drain', pump);
            return;
          }
        }
        conn.end();
      };
      pump();
      conn.resume();
      return;
    }
    const port = job.port as MessagePort;
    let sent = 0;
    let acked = 0;
    let i = 0;
    const pump = (): void => {
      while (i < count && sent - acked < WINDOW) {
        i++;
        sent += job.size;
        if (job.kind === 'clone') {
          port.postMessage(chunk);
        } else {
          const ab = new ArrayBuffer(job.size);
          new Uint8Array(ab).set(chunk);
          port.postMessage(ab, [ab]);
        }
      }
      if (i === count) {
        port.postMessage(null);
        i++;
      }
    };
    port.on('message', (n: number) => {
      acked += n;
      pump();
    });
    pump();
  });
  parentPort!.postMessage('ready');
}

// ---- main side ---------------------------------------------------------------

async function runOnce(kind: Kind, size: number, total: number): Promise<number> {
  let reader: MessagePort | ReturnType<typeof openChannel>;
  let job: Job;
  let transferList: MessagePort[] = [];
  const isChannel = kind === 'channel' || kind === 'tuned';
  if (isChannel) {
    const { port1, port2 } = createChannel(CHANNEL_OPTIONS[kind]);
    job = { kind, size, total, port: port2 };
    reader = openChannel(port1);
  } else {
    const mc = new MessageChannel();
    job = { kind, size, total, port: mc.port2 };
    transferList = [mc.port2];
    reader = mc.port1;
  }
  const worker = new Worker(new URL(import.meta.url), { workerData: job, transferList, execArgv: process.execArgv });
  await new Promise((resolve) => worker.once('message', resolve));
  const expect = Math.floor(total / size) * size;
  const done = new Promise<number>((resolve, reject) => {
    let got = 0;
    let t0 = 0;
    worker.once('error', reject);
    if (isChannel) {
      const conn = reader as ReturnType<typeof openChannel>;
      conn.on('data', (d: Buffer) => (got += d.length));
      conn.once('end', () => resolve(got === expect ? performance.now() - t0 : NaN));
      conn.once('error', reject);
    } else {
      const port = reader as MessagePort;
      let unacked = 0;
      port.on('message', (m: Buffer | ArrayBuffer | null) => {
        if (m === null) {
          port.close();
          resolve(got === expect ? performance.now() - t0 : NaN);
          return;
        }
        got += m.byteLength;
        unacked += m.byteLength;
        if (unacked >= ACK_EVERY) {
          port.postMessage(unacked);
          unacked = 0;
        }
      });
    }
    t0 = performance.now();
    worker.postMessage('go');
  });
  const ms = await done;
  await worker.terminate();
  if (Number.isNaN(ms)) throw new Error(`${kind} ${size}: byte count mismatch`);
  return expect / ms / 1e3; // MB/s
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  const runs = Number(process.argv[3] ?? 5);
  console.log(`# worker channel vs MessagePort, one-way worker → main`);
  console.log(`# ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`# ${mib} MiB per run, median of ${runs} runs; MB/s (ratio to MessagePort clone)\n`);
  console.log('| chunk | channel, defaults | channel, 4 MiB ring + spin 1000 | MessagePort clone | MessagePort transfer |');
  console.log('|---|---|---|---|---|');
  const kinds = ['channel', 'tuned', 'clone', 'transfer'] as const;
  for (const size of [1024, 64 * 1024]) {
    const results: Record<Kind, number[]> = { channel: [], tuned: [], clone: [], transfer: [] };
    for (let r = 0; r < runs; r++) {
      for (const kind of kinds) results[kind].push(await runOnce(kind, size, mib * 1024 * 1024));
    }
    const m = Object.fromEntries(kinds.map((k) => [k, median(results[k])])) as Record<Kind, number>;
    const cell = (k: Kind) => `${m[k].toFixed(0)} (${(m[k] / m.clone).toFixed(1)}×)`;
    console.log(`| ${size / 1024} KiB | ${cell('channel')} | ${cell('tuned')} | ${cell('clone')} | ${cell('transfer')} |`);
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  runWorker(workerData as Job);
}
