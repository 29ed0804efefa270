/**
 * Worker-thread side of the main thread → worker table (to-worker.ts):
 * counts the bytes that arrive into a shared counter the main thread reads.
 *
 *   - as a plain worker (workerData `{ kind: 'channel', port, counter }`):
 *     opens its end of a worker channel and counts 'data';
 *   - as a thread-stream destination module: the default export is called
 *     by thread-stream's own worker with the workerData given to
 *     `new ThreadStream()` and returns the Writable it writes to (strings:
 *     thread-stream decodes UTF-8; the bench sends ASCII, one byte per
 *     character).
 */
import { Writable } from 'node:stream';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openChannel, type ChannelPort } from '../src/index.js';

export interface SinkJob {
  kind: 'channel' | 'thread-stream';
  /** [0]: bytes received so far. */
  counter: BigInt64Array;
  port?: ChannelPort;
}

function count(counter: BigInt64Array, n: number): void {
  // SYNC POINT with the main thread's TimedWindow reading in to-worker.ts: the count it samples.
  Atomics.add(counter, 0, BigInt(n));
}

export default function threadStreamSink(job: SinkJob): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, cb) {
      count(job.counter, chunk.length);
      cb();
    },
  });
}

const job = (isMainThread ? null : workerData) as Partial<SinkJob> | null;
if (job?.kind === 'channel') {
  const conn = openChannel(job.port!);
  const counter = job.counter!;
  conn.on('data', (d: Buffer) => count(counter, d.length));
  conn.on('end', () => conn.end());
  conn.on('error', (err) => parentPort!.postMessage({ t: 'error', message: err.message }));
  parentPort!.postMessage({ t: 'ready' });
}
