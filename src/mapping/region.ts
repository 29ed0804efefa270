/**
 * `MappedRegion`: safe access to one mapping, whatever made it (a file, a
 * named POSIX object, anonymous memory, a SysV segment).
 *
 * Safety, as grandecola/mmap promises for Go: every method checks bounds
 * before it touches memory and throws `SHMNET_ERR_CLOSED` after `close()`.
 * Shared-memory regions are SharedArrayBuffers that stay mapped until the
 * last JS reference is collected, so even an old `bytes` view a caller kept
 * can never reach unmapped memory. File regions are detachable
 * ArrayBuffers: `close()` detaches (views become empty) and unmaps at once.
 */
import { EventEmitter } from 'node:events';
import { codes, closedError, invalidArg, outOfRange, ShmnetError } from '../errors.js';
import * as native from '../native.js';
import type { Advice } from '../native.js';

export type RegionKind = 'file' | 'shm' | 'anonymous' | 'sysv';

/** Where `seek` counts from: 0/'start', 1/'current', 2/'end' (as io.Seeker). */
export type Whence = 0 | 1 | 2 | 'start' | 'current' | 'end';

export interface RegionInit {
  kind: RegionKind;
  buffer: SharedArrayBuffer | ArrayBuffer;
  /** Where the caller's window starts inside `buffer` (file offsets need not be page aligned). */
  byteOffset: number;
  size: number;
  readOnly: boolean;
  /** Releases the mapping; called once by `close()`. */
  release: (buffer: SharedArrayBuffer | ArrayBuffer) => void;
  name?: string;
  id?: number;
  populated?: boolean;
  huge?: boolean;
}

export interface FlushOptions {
  /** `msync(MS_ASYNC)` instead of waiting for the write-back. */
  async?: boolean;
  offset?: number;
  length?: number;
}

export interface RangeOptions {
  offset?: number;
  length?: number;
}

function checkInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArg(`${name} must be an integer, got ${String(v)}`);
  return v;
}

function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalidArg(`${name} must be a Buffer or Uint8Array`);
  return v;
}

export class MappedRegion extends EventEmitter {
  readonly kind: RegionKind;
  readonly size: number;
  readonly readOnly: boolean;
  /** The POSIX name, for `openShm` regions. */
  readonly name: string | undefined;
  /** The SysV identifier, for `createSysV`/`openSysV` regions. */
  readonly id: number | undefined;
  /** Whether the pages were pre-faulted (MAP_POPULATE). */
  readonly populated: boolean;
  /** Whether the mapping uses huge pages (MAP_HUGETLB). */
  readonly huge: boolean;

  #buffer: SharedArrayBuffer | ArrayBuffer | null;
  #bytes: Buffer | null;
  #byteOffset: number;
  #release: RegionInit['release'];
  #position = 0;

  constructor(init: RegionInit) {
    super();
    this.kind = init.kind;
    this.size = init.size;
    this.readOnly = init.readOnly;
    this.name = init.name;
    this.id = init.id;
    this.populated = init.populated ?? false;
    this.huge = init.huge ?? false;
    this.#buffer = init.buffer;
    this.#byteOffset = init.byteOffset;
    this.#bytes = Buffer.from(init.buffer, init.byteOffset, init.size);
    this.#release = init.release;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#buffer === null;
  }

  /**
   * The whole underlying buffer: a SharedArrayBuffer for shared memory (use
   * it for `Atomics`), a detachable ArrayBuffer for files. The requested
   * window starts at `byteOffset` within it.
   */
  get buffer(): SharedArrayBuffer | ArrayBuffer {
    if (this.#buffer === null) throw closedError();
    return this.#buffer;
  }

  get byteOffset(): number {
    if (this.#buffer === null) throw closedError();
    return this.#byteOffset;
  }

  /**
   * A Buffer over exactly the requested window: the fast path with no
   * checks. For a read-only file mapping, writes through it stay private to
   * this process (the mapping is copy-on-write) and never reach the file.
   */
  get bytes(): Buffer {
    if (this.#bytes === null) throw closedError();
    return this.#bytes;
  }

  /** The cursor used by `read`, `write` and `seek`. */
  get position(): number {
    return this.#position;
  }

  #live(): Buffer {
    if (this.#bytes === null) throw closedError();
    return this.#bytes;
  }

  #writable(): Buffer {
    const bytes = this.#live();
    if (this.readOnly) throw new ShmnetError(codes.READ_ONLY, `the ${this.kind} mapping is read-only`);
    return bytes;
  }

  #offset(offset: unknown, what = 'offset'): number {
    const o = checkInteger(what, offset);
    if (o < 0 || o > this.size) throw outOfRange(`${what} ${o} is outside the region [0, ${this.size}]`);
    return o;
  }

  /**
   * Copies bytes starting at `offset` into `target`; returns how many were
   * copied (fewer than `target.length` only at the end of the region, 0 at
   * the end), as io.ReaderAt.
   */
  readAt(target: Uint8Array, offset: number): number {
    const bytes = this.#live();
    checkBytes('target', target);
    const o = this.#offset(offset);
    const n = Math.min(target.length, this.size - o);
    if (n > 0) target.set(bytes.subarray(o, o + n));
    return n;
  }

  /** Copies all of `source` to `offset`; a write that would not fit throws and writes nothing. */
  writeAt(source: Uint8Array, offset: number): number {
    const bytes = this.#writable();
    checkBytes('source', source);
    const o = this.#offset(offset);
    if (source.length > this.size - o) {
      throw outOfRange(`writing ${source.length} bytes at ${o} runs past the region's end (${this.size})`);
    }
    bytes.set(source, o);
    return source.length;
  }

  /** Reads at the cursor and advances it; returns 0 at the end. */
  read(target: Uint8Array): number {
    const n = this.readAt(target, this.#position);
    this.#position += n;
    return n;
  }

  /** Writes at the cursor and advances it. */
  write(source: Uint8Array): number {
    const n = this.writeAt(source, this.#position);
    this.#position += n;
    return n;
  }

  /** Moves the cursor; returns the new position. Past-the-end positions are allowed, as io.Seeker. */
  seek(offset: number, whence: Whence = 'start'): number {
    this.#live();
    const o = checkInteger('offset', offset);
    let base: number;
    if (whence === 0 || whence === 'start') base = 0;
    else if (whence === 1 || whence === 'current') base = this.#position;
    else if (whence === 2 || whence === 'end') base = this.size;
    else throw invalidArg(`whence must be 'start', 'current' or 'end', got ${String(whence)}`);
    const next = base + o;
    if (next < 0 || !Number.isSafeInteger(next)) throw outOfRange(`seek to ${next} is before the start of the region`);
    this.#position = next;
    return next;
  }

  /** Reads a little-endian unsigned 64-bit value. */
  readUint64At(offset: number): bigint {
    const bytes = this.#live();
    const o = this.#offset(offset);
    if (o + 8 > this.size) throw outOfRange(`a 64-bit read at ${o} runs past the region's end (${this.size})`);
    return bytes.readBigUInt64LE(o);
  }

  /** Writes a little-endian unsigned 64-bit value. */
  writeUint64At(offset: number, value: bigint): void {
    const bytes = this.#writable();
    const o = this.#offset(offset);
    if (typeof value !== 'bigint') throw invalidArg('value must be a bigint');
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw outOfRange(`value ${value} does not fit in 64 unsigned bits`);
    if (o + 8 > this.size) throw outOfRange(`a 64-bit write at ${o} runs past the region's end (${this.size})`);
    bytes.writeBigUInt64LE(value, o);
  }

  /** Resolves an optional sub-range to page-aligned bounds inside the mapping. */
  #pageRange(opts: RangeOptions | undefined): [number, number] {
    const offset = opts?.offset === undefined ? 0 : this.#offset(opts.offset);
    const length = opts?.length === undefined ? this.size - offset : checkInteger('length', opts.length);
    if (length < 0 || length > this.size - offset) {
      throw outOfRange(`range [${offset}, ${offset + length}) is outside the region [0, ${this.size}]`);
    }
    const start = this.#byteOffset + offset;
    const aligned = start - (start % native.pageSize);
    return [aligned, start + length - aligned];
  }

  /** Writes dirty pages back (msync). A no-op for anonymous memory. */
  flush(opts: FlushOptions = {}): void {
    const buffer = this.buffer;
    const [start, length] = this.#pageRange(opts);
    if (length === 0 || this.kind === 'anonymous' || this.kind === 'sysv') return;
    native.sync(buffer, start, length, opts.async === true);
  }

  /** Gives the kernel a hint about the access pattern (madvise). */
  advise(advice: Advice, opts?: RangeOptions): void {
    const buffer = this.buffer;
    if (!native.ADVICE.includes(advice)) {
      throw invalidArg(`advice must be one of ${native.ADVICE.join(', ')}, got ${String(advice)}`);
    }
    if ((advice === 'hugepage' || advice === 'nohugepage') && native.platform !== 'linux') {
      throw new ShmnetError(codes.UNSUPPORTED, `advice '${advice}' exists only on Linux`);
    }
    const [start, length] = this.#pageRange(opts);
    if (length > 0) native.advise(buffer, start, length, advice);
  }

  /** Locks the pages in RAM (mlock). */
  lock(opts?: RangeOptions): void {
    const buffer = this.buffer;
    const [start, length] = this.#pageRange(opts);
    if (length > 0) native.lock(buffer, start, length);
  }

  unlock(opts?: RangeOptions): void {
    const buffer = this.buffer;
    const [start, length] = this.#pageRange(opts);
    if (length > 0) native.unlock(buffer, start, length);
  }

  /**
   * Releases the region. Afterwards every method throws
   * `SHMNET_ERR_CLOSED`. Closing twice is a no-op.
   */
  close(): void {
    const buffer = this.#buffer;
    if (buffer === null) return;
    this.#buffer = null;
    this.#bytes = null;
    this.#release(buffer);
    this.emit('close');
  }
}
