/**
 * `onread`, as node:net has it: the bytes a Conn receives are copied
 * straight from the ring (or, over the socket fallback, from the socket's
 * chunk) into a buffer the caller owns and handed to its callback. The
 * Conn then pushes nothing: no 'data' events, no Buffer allocated per
 * read; 'end', 'close' and 'error' come as usual.
 *
 * The semantics are node:net's (`kBuffer`, `kBufferGen`, `kBufferCb` in
 * lib/net.js, `onStreamRead` in lib/internal/stream_base_commons.js):
 *
 *   - `buffer` is a Uint8Array, or a function returning one. A function is
 *     called once when the Conn is made and again after every callback;
 *     a call that returns no usable buffer keeps the previous one.
 *   - `callback(nread, buf)` runs with the Conn as `this`; `buf` is the
 *     whole buffer and its first `nread` bytes are new. Returning `false`
 *     stops reading as `pause()` does; `resume()` or `read()` goes on.
 *
 * Where node silently ignores an `onread` of the wrong shape, shmnet
 * refuses it (a coded TypeError/RangeError from connect()): nothing a
 * caller passes is dropped without a word.
 */
import { invalidArg, outOfRange } from '../errors.js';

/** The `onread` option of `connect()`, `createServer()` and `openChannel()`. */
export interface OnreadOptions {
  /** The buffer each read fills, or a function returning the next one. */
  buffer: Uint8Array | (() => Uint8Array);
  /** `buf[0..nread)` holds the new bytes; return `false` to stop reading until `resume()`. */
  callback: (nread: number, buf: Uint8Array) => boolean | void;
}

/** Checks an `onread` option; undefined when it is not set. */
export function checkOnread(v: unknown): OnreadOptions | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null) throw invalidArg(`onread must be an object with buffer and callback, got ${String(v)}`);
  const o = v as Partial<OnreadOptions>;
  if (!(o.buffer instanceof Uint8Array) && typeof o.buffer !== 'function') {
    throw invalidArg('onread.buffer must be a Uint8Array or a function returning one');
  }
  if (typeof o.callback !== 'function') throw invalidArg('onread.callback must be a function');
  if (o.buffer instanceof Uint8Array && o.buffer.length === 0) throw outOfRange('onread.buffer must not be empty');
  return o as OnreadOptions;
}

/** A buffer a generator may hand out: a non-empty Uint8Array. */
function usable(b: unknown): b is Uint8Array {
  return b instanceof Uint8Array && b.length > 0;
}

/**
 * One Conn's `onread` state: the buffer the next read fills, and the
 * delivery of what it received. Engines (ring-pump.ts, and the socket
 * fallback) copy into `buffer` and then call `deliver`.
 */
export class OnreadTarget {
  /** The buffer the next read fills; never empty. */
  buffer: Uint8Array;
  readonly #gen: (() => Uint8Array) | null;
  readonly #cb: OnreadOptions['callback'];
  readonly #owner: unknown;

  /** Throws a coded TypeError when a buffer function's first call returns no usable buffer. */
  constructor(o: OnreadOptions, owner: unknown) {
    this.#cb = o.callback;
    this.#owner = owner;
    if (typeof o.buffer === 'function') {
      this.#gen = o.buffer;
      const first = this.#gen();
      if (!usable(first)) throw invalidArg('onread.buffer() must return a non-empty Uint8Array');
      this.buffer = first;
    } else {
      this.#gen = null;
      this.buffer = o.buffer;
    }
  }

  /**
   * Hands `buffer[0..nread)` to the callback, then takes the next buffer
   * from the generator. False when the callback asked to stop reading.
   */
  deliver(nread: number): boolean {
    const go = this.#cb.call(this.#owner, nread, this.buffer) !== false;
    if (this.#gen !== null) {
      const next = this.#gen();
      if (usable(next)) this.buffer = next;
    }
    return go;
  }
}
