/**
 * Message mode: one-way messages/s of 64-byte objects through
 * `MessageConn` between two processes, over shared memory and, in the same
 * run, over the TCP fallback (`transport: 'tcp'`) for the ratio.
 *
 *   node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/message-mode.ts [messages] [runs]
 *   node dist/bench/message-mode.js [messages] [runs]          (after npm run build)
 *
 * The sender (a forked child) sends `messages` objects (default 2,000,000)
 * with `send()`, honouring backpressure, then ends; the parent counts
 * 'message' events and checks every id arrived in order. Rate = messages /
 * time from the connection to the last message at the receiver; median of
 * `runs` (default 5). Target (issue 6): ≥ 1,000,000 messages/s over shm.
 */
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { connect, createServer, type Conn } from '../src/index.js';
import { MessageConn } from '../src/message/index.js';

/** A 64-byte object: 64 bytes of MessagePack for ids from 65,536 to 2^32 - 1 (a few bytes fewer below), plus the 4-byte length. */
function message64(id: number): { id: number; op: string; key: string; ok: boolean; score: number; tags: string[] } {
  return { id, op: 'put', key: 'user:0000123', ok: true, score: 0.5, tags: ['a', 'b'] };
}

async function sender(port: number, transport: 'shm' | 'tcp', count: number): Promise<void> {
  const conn = connect({ port, host: '127.0.0.1', transport });
  await new Promise<void>((resolve, reject) => {
    conn.once('connect', resolve);
    conn.once('error', reject);
  });
  const mc = new MessageConn(conn);
  const msg = message64(0);
  let i = 0;
  const pump = (): void => {
    while (i < count) {
      msg.id = i++;
      if (!mc.send(msg)) {
        mc.once('drain', pump);
        return;
      }
    }
    mc.end();
  };
  pump();
  mc.on('close', () => process.exit(0));
}

async function runOnce(transport: 'shm' | 'tcp', count: number): Promise<number> {
  const server = createServer({ transport });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, ['--sender', String(port), transport, String(count)], { execArgv: process.execArgv });
  const rate = await new Promise<number>((resolve, reject) => {
    server.once('connection', (conn: Conn) => {
      if (conn.transport !== transport) reject(new Error(`expected ${transport}, got ${conn.transport}`));
      const mc = new MessageConn(conn);
      const t0 = performance.now();
      let next = 0;
      mc.on('message', (m: { id: number }) => {
        if (m.id !== next++) reject(new Error(`message ${next - 1} arrived as ${m.id}`));
      });
      mc.on('end', () => {
        const ms = performance.now() - t0;
        if (next !== count) reject(new Error(`received ${next} of ${count}`));
        resolve((count / ms) * 1000);
        mc.end();
      });
      mc.on('error', reject);
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve) => server.close(resolve));
  return rate;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 2_000_000);
  const runs = Number(process.argv[3] ?? 5);
  const encoded = new Packr({ useRecords: false }).pack(message64(123456)).length + 4;
  console.log('# message mode: MessageConn one-way, 64-byte objects, two processes');
  console.log(`# ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`# ${count} messages per run (${encoded} bytes per frame), median of ${runs} runs\n`);
  const rates: Record<'shm' | 'tcp', number[]> = { shm: [], tcp: [] };
  for (let r = 0; r < runs; r++) {
    for (const transport of ['shm', 'tcp'] as const) rates[transport].push(await runOnce(transport, count));
  }
  const shm = median(rates.shm);
  const tcp = median(rates.tcp);
  console.log('| transport | messages/s | MB/s (frames) | vs TCP |');
  console.log('|---|---|---|---|');
  console.log(`| shm | ${Math.round(shm).toLocaleString('en-US')} | ${((shm * encoded) / 1e6).toFixed(0)} | ${(shm / tcp).toFixed(2)}× |`);
  console.log(`| tcp (fallback) | ${Math.round(tcp).toLocaleString('en-US')} | ${((tcp * encoded) / 1e6).toFixed(0)} | 1.00× |`);
  console.log(`\nall runs (msgs/s): shm ${rates.shm.map((x) => Math.round(x)).join(', ')}; tcp ${rates.tcp.map((x) => Math.round(x)).join(', ')}`);
}

if (process.argv[2] === '--sender') {
  sender(Number(process.argv[3]), process.argv[4] as 'shm' | 'tcp', Number(process.argv[5])).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
