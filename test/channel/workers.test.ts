/**
 * Worker channels between real threads: 256 MiB in random chunk sizes
 * from one worker to another with SHA-256 equality; a worker terminated
 * mid-stream closes the other end (a worker or the main thread) with
 * SHMNET_ERR_PEER_GONE; a worker that blocks its thread for a while is not
 * mistaken for a dead one.
 */
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { createChannel, openChannel, type ChannelPort } from '../../src/channel/index.js';

const TOTAL = 256 * 1024 * 1024;

interface Event {
  event: 'open' | 'done' | 'error' | 'close';
  sha?: string;
  bytes?: number;
  code?: string;
}

class Peer {
  readonly worker: Worker;
  readonly events: Event[] = [];
  #waiters: Array<() => void> = [];
  exitCode: number | null = null;

  constructor(workerData: object, transferList: never[] = []) {
    // process.execArgv carries tap's TypeScript loader into the worker.
    this.worker = new Worker(new URL('../fixtures/channel-worker.ts', import.meta.url), { workerData, transferList, execArgv: process.execArgv });
    this.worker.on('message', (m: Event) => {
      this.events.push(m);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.worker.on('exit', (code) => {
      this.exitCode = code;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  async next(event: Event['event']): Promise<Event> {
    for (;;) {
      const e = this.events.find((x) => x.event === event);
      if (e) return e;
      if (this.exitCode !== null) throw new Error(`worker exited (${this.exitCode}) before '${event}'`);
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  async exited(): Promise<number> {
    while (this.exitCode === null) await new Promise<void>((r) => this.#waiters.push(r));
    return this.exitCode;
  }
}

t.test('256 MiB in random chunk sizes between two workers, SHA-256 equal', async (t) => {
  const { port1, port2 } = createChannel();
  const source = new Peer({ role: 'source', port: port1, total: TOTAL });
  // The other port goes by postMessage, without a transfer list: it is plain data.
  const sink = new Peer({ role: 'sink', viaMessage: true });
  sink.worker.postMessage(port2);
  const [sent, received] = await Promise.all([source.next('done'), sink.next('done')]);
  t.equal(sent.bytes, TOTAL, 'the source wrote everything');
  t.equal(received.bytes, TOTAL, 'the sink read everything');
  t.match(sent.sha, /^[0-9a-f]{64}$/);
  t.equal(received.sha, sent.sha, 'SHA-256 of what arrived equals what was sent');
  t.equal(await source.exited(), 0, 'source worker exited on its own once closed');
  t.equal(await sink.exited(), 0, 'sink worker exited on its own once closed');
  t.same([...source.events, ...sink.events].filter((e) => e.event === 'error'), [], 'no errors');
});

t.test('terminating a worker closes the other worker\u2019s end with PEER_GONE', async (t) => {
  const { port1, port2 } = createChannel();
  const victim = new Peer({ role: 'source', port: port1, total: Number.MAX_SAFE_INTEGER, maxChunk: 4096 });
  const survivor = new Peer({ role: 'hold', port: port2 });
  await Promise.all([victim.next('open'), survivor.next('open')]);
  await victim.worker.terminate();
  const err = await survivor.next('error');
  t.equal(err.code, 'SHMNET_ERR_PEER_GONE');
  await survivor.next('close');
  t.equal(await survivor.exited(), 0, 'the survivor closed and its thread ended normally');
});

t.test('terminating a worker closes the main thread\u2019s end with PEER_GONE', async (t) => {
  const { port1, port2 } = createChannel();
  const conn = openChannel(port1);
  let bytes = 0;
  conn.on('data', (d: Buffer) => (bytes += d.length));
  const errored = new Promise<Error & { code?: string }>((resolve) => conn.once('error', resolve));
  const closed = new Promise((resolve) => conn.once('close', resolve));
  const victim = new Peer({ role: 'source', port: port2, total: Number.MAX_SAFE_INTEGER, maxChunk: 4096 });
  await victim.next('open');
  while (bytes === 0) await new Promise((r) => setTimeout(r, 5));
  await victim.worker.terminate();
  t.equal((await errored).code, 'SHMNET_ERR_PEER_GONE');
  await closed;
  t.ok(conn.destroyed);
});

t.test('a worker that blocks its thread is not taken for dead', async (t) => {
  const { port1, port2 } = createChannel();
  const conn = openChannel(port1);
  const chunks: Buffer[] = [];
  conn.on('data', (d: Buffer) => chunks.push(d));
  const errors: string[] = [];
  conn.on('error', (e: Error & { code?: string }) => errors.push(e.code ?? e.message));
  const ended = new Promise((resolve) => conn.once('end', resolve));
  // Blocked for several liveness probe intervals (250 ms each).
  const busy = new Peer({ role: 'busy', port: port2, busyMs: 1500 });
  await ended;
  t.equal(Buffer.concat(chunks).toString(), 'still here', 'the data came after the busy spell');
  t.same(errors, [], 'no PEER_GONE while it was busy');
  t.equal(await busy.exited(), 0);
  t.ok(conn.stats().livenessProbes as number > 0, 'the main thread probed meanwhile');
});

t.test('a port posted to a worker is a structured clone sharing the one-time claim', async (t) => {
  const { port1, port2 } = createChannel();
  const conn = openChannel(port2);
  const sink = new Peer({ role: 'sink', viaMessage: true });
  sink.worker.postMessage(port1 satisfies ChannelPort);
  await sink.next('open');
  conn.end('hello through a clone');
  const done = await sink.next('done');
  t.equal(done.bytes, 'hello through a clone'.length);
  t.throws(() => openChannel(port1), { code: 'SHMNET_ERR_EXISTS' }, 'the structured clone shares the claim on port1');
  await sink.exited();
});
