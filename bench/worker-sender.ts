/**
 * The worker thread of the worker table (worker.ts): on 'go' it writes
 * `size`-byte chunks to the main thread without pause until 'stop', then
 * ends its stream and reports how many chunks it wrote.
 *
 *   - channel / tuned / onread: `openChannel()` Conn, `conn.write(chunk)`
 *     per chunk; `write()` false → wait for 'drain';
 *   - lanes: each chunk copied into claimed views of the ring (as many as
 *     it takes) and committed; a full ring → wait for 'claimable';
 *   - clone: `port.postMessage(chunk)` (structured clone copies the bytes);
 *   - transfer: a fresh ArrayBuffer per chunk, filled and transferred.
 *   MessagePort kinds use credit-based flow control: at most WINDOW bytes
 *   unacknowledged, the main thread acknowledges what it received.
 *
 * Every chunk starts with its sequence number (uint32 LE), which the main
 * thread checks. A Conn may still hold a written chunk until its write
 * callback, so the channel writer rotates through enough chunk buffers
 * that it never rewrites one the stream still holds (see `pool`).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openChannel, type ChannelPort } from '../src/index.js';
import { isChannelKind, type WorkerJob } from './worker.js';

/** MessagePort kinds: bytes in flight before the writer waits for an acknowledgement. */
export const WINDOW = 4 * 1024 * 1024;
/** The writer yields to the event loop after this many bytes without backpressure (so 'stop' can arrive). */
const YIELD_BYTES = 4 * 1024 * 1024;
const FILL = 0x61;

function run(job: WorkerJob): void {
  const parent = parentPort!;
  const { kind, size } = job;
  let stopped = false;
  let chunks = 0;
  let finish: () => void = () => {};
  let pump: () => void = () => {};
  /** After YIELD_BYTES without backpressure the pump goes on in a later turn (so 'stop' can arrive): true when it did. */
  const spent = (burst: number): boolean => {
    if (burst < YIELD_BYTES) return false;
    setImmediate(pump);
    return true;
  };

  /** A chunk is part-way into the ring: stopping waits until it is whole. */
  let partial = false;
  if (kind === 'lanes') {
    const conn = openChannel(job.port as ChannelPort);
    conn.on('error', (err) => parent.postMessage({ t: 'error', message: err.message }));
    conn.resume(); // read to the main thread's end
    const chunk = Buffer.alloc(size, FILL);
    let off = 0;
    pump = () => {
      let burst = 0;
      while (!stopped || partial) {
        if (off === 0) chunk.writeUInt32LE(chunks >>> 0, 0);
        while (off < size) {
          const v = conn.claim(size - off);
          if (v === null) {
            partial = off > 0;
            conn.once('claimable', pump);
            return;
          }
          v.set(chunk.subarray(off, off + v.length));
          conn.commit(v.length);
          off += v.length;
        }
        off = 0;
        partial = false;
        chunks++;
        if (stopped) {
          stop();
          return;
        }
        if (spent((burst += size))) return;
      }
    };
    finish = () => conn.end();
  } else if (isChannelKind(kind)) {
    const conn = openChannel(job.port as ChannelPort);
    conn.on('error', (err) => parent.postMessage({ t: 'error', message: err.message }));
    conn.resume(); // read to the main thread's end
    /*
     * A chunk handed to write() is held by the stream until its callback:
     * only the chunks written since the stream's buffer was last empty,
     * and write() returns false (we then wait for 'drain', which empties
     * it) once they reach writableHighWaterMark. So ceil(HWM / size) + 2
     * buffers in rotation are never rewritten while held.
     */
    const pool = Array.from({ length: Math.ceil(conn.writableHighWaterMark / size) + 2 }, () => Buffer.alloc(size, FILL));
    pump = () => {
      let burst = 0;
      while (!stopped) {
        const b = pool[chunks % pool.length]!;
        b.writeUInt32LE(chunks >>> 0, 0);
        chunks++;
        if (!conn.write(b)) {
          conn.once('drain', pump);
          return;
        }
        if (spent((burst += size))) return;
      }
    };
    finish = () => conn.end();
  } else {
    const port = job.port as MessagePort;
    const chunk = Buffer.alloc(size, FILL);
    let sent = 0;
    let acked = 0;
    pump = () => {
      let burst = 0;
      while (!stopped && sent - acked < WINDOW) {
        sent += size;
        if (kind === 'clone') {
          chunk.writeUInt32LE(chunks >>> 0, 0);
          port.postMessage(chunk);
        } else {
          const u8 = new Uint8Array(new ArrayBuffer(size));
          u8.set(chunk);
          u8[0] = chunks;
          u8[1] = chunks >>> 8;
          u8[2] = chunks >>> 16;
          u8[3] = chunks >>> 24;
          port.postMessage(u8, [u8.buffer]);
        }
        chunks++;
        if (spent((burst += size))) return;
      }
    };
    port.on('message', (n: number) => {
      acked += n;
      pump();
    });
    finish = () => {
      port.postMessage(null);
    };
  }

  let reported = false;
  function stop(): void {
    if (reported) return;
    reported = true;
    finish();
    parent.postMessage({ t: 'stopped', chunks });
  }
  parent.on('message', (m: 'go' | 'stop') => {
    if (m === 'go') {
      pump();
    } else if (m === 'stop' && !stopped) {
      stopped = true;
      // A chunk half in the ring is finished first (the pump stops after it).
      if (!partial) stop();
    }
  });
  parent.postMessage({ t: 'ready' });
}

run(workerData as WorkerJob);
