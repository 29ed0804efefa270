/** Stream test helpers: deterministic random payloads and hashing. */
import { createHash, randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';

/** A pool of random bytes; payloads are windows into it at random offsets. */
const POOL = randomBytes(2 * 1024 * 1024 + 1);

/** A chunk size between 1 byte and `max`, log-uniform so small and large sizes both occur. */
export function randomChunkSize(max = 1 << 20): number {
  const bits = Math.log2(max);
  return Math.max(1, Math.min(max, Math.floor(2 ** (Math.random() * bits))));
}

export function randomChunk(size: number): Buffer {
  const off = Math.floor(Math.random() * (POOL.length - size));
  return POOL.subarray(off, off + size);
}

/**
 * Writes `total` bytes in random chunk sizes to `w`, honouring
 * backpressure; resolves with the SHA-256 of everything written.
 */
export function sendRandom(w: Writable, total: number, maxChunk = 1 << 20, end = true): Promise<string> {
  const hash = createHash('sha256');
  let sent = 0;
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    w.once('error', onError);
    const pump = () => {
      while (sent < total) {
        const n = Math.min(total - sent, randomChunkSize(maxChunk));
        const chunk = randomChunk(n);
        hash.update(chunk);
        sent += n;
        if (!w.write(chunk)) {
          w.once('drain', pump);
          return;
        }
      }
      w.off('error', onError);
      if (end) w.end();
      resolve(hash.digest('hex'));
    };
    pump();
  });
}

/** Hashes everything a readable delivers until 'end'. */
export function hashUntilEnd(r: NodeJS.ReadableStream): Promise<{ sha: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    r.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    r.once('end', () => resolve({ sha: hash.digest('hex'), bytes }));
    r.once('error', reject);
  });
}
