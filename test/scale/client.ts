/**
 * One of the client processes of test/scale/scale.ts, driven over IPC:
 *  - { cmd: 'load', path, n, bytes, ringSize }: n Conns at once, each sends
 *    `bytes` random bytes and checks the echo's SHA-256 → { event: 'load', ok, bad, errors, ms };
 *  - { cmd: 'idle', path, n, ringSize }: n Conns at once, held idle →
 *    { event: 'idle', up, errors, ms, handshakeMs (median) };
 *  - { cmd: 'cpu' } → { event: 'cpu', usage } (cumulative);
 *  - { cmd: 'ping', count }: 64-byte echoes on one held Conn → { event: 'ping', p50, p99 } (µs);
 *  - { cmd: 'close' }: destroys every Conn → { event: 'closed' }.
 */
import { connect, type Conn } from '../../src/index.js';
import { hashUntilEnd, sendRandom } from '../helpers/stream.js';

const send = (m: unknown) => process.send!(m);
const held: Conn[] = [];

function open(path: string, ringSize: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const c = connect({ path, ringSize, handshakeTimeout: 120_000 });
    c.once('error', reject);
    c.once('connect', () => {
      c.off('error', reject);
      c.on('error', () => {});
      resolve(c);
    });
  });
}

async function load(path: string, n: number, bytes: number, ringSize: number) {
  const t0 = performance.now();
  let ok = 0;
  let bad = 0;
  const errors: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: n }, async () => {
      try {
        const c = await open(path, ringSize);
        const back = hashUntilEnd(c);
        const sent = await sendRandom(c, bytes, 16384);
        const echoed = await back;
        if (echoed.sha === sent && echoed.bytes === bytes) ok++;
        else bad++;
        c.destroy();
      } catch (e) {
        const code = (e as { code?: string }).code ?? String(e);
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }),
  );
  send({ event: 'load', ok, bad, errors, ms: performance.now() - t0 });
}

async function idle(path: string, n: number, ringSize: number) {
  const t0 = performance.now();
  const errors: Record<string, number> = {};
  const got = await Promise.all(
    Array.from({ length: n }, () =>
      open(path, ringSize).catch((e) => {
        const code = (e as { code?: string }).code ?? String(e);
        errors[code] = (errors[code] ?? 0) + 1;
        return null;
      }),
    ),
  );
  for (const c of got) if (c !== null) held.push(c);
  const hs = held.map((c) => c.handshakeMs).sort((a, b) => a - b);
  send({ event: 'idle', up: held.length, errors, ms: performance.now() - t0, handshakeMs: hs[hs.length >> 1] ?? 0, transport: held[0]?.transport, segment: held[0]?.stats().segment });
}

async function ping(count: number) {
  const c = held[0]!;
  const msg = Buffer.alloc(64, 7);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (d: Buffer) => {
        got += d.length;
        if (got >= 64) {
          c.off('data', onData);
          resolve();
        }
      };
      c.on('data', onData);
      c.write(msg);
    });
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  send({ event: 'ping', p50: times[times.length >> 1], p99: times[Math.floor(times.length * 0.99)] });
}

process.on('message', (m: any) => {
  if (m.cmd === 'load') void load(m.path, m.n, m.bytes, m.ringSize);
  else if (m.cmd === 'idle') void idle(m.path, m.n, m.ringSize);
  else if (m.cmd === 'cpu') send({ event: 'cpu', usage: process.cpuUsage() });
  else if (m.cmd === 'ping') void ping(m.count);
  else if (m.cmd === 'close') {
    for (const c of held) c.destroy();
    held.length = 0;
    send({ event: 'closed' });
  }
});
send({ event: 'ready' });
