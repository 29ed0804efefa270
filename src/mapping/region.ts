/**
 * `MappedRegion`: safe access to one mapping, whatever made it (a file, a
 * named POSIX object, anonymous memory, a SysV segment).
 *
 * Safety, as grandecola/mmap promises for Go: every method checks bounds
 * before it touches memory and throws `SHMNET_ERR_CLOSED` after `close()`.
 * Shared-memory regions are SharedArrayBuffers that stay mapped until the
 * last JS reference is collected, so even an old `bytes` view a caller kept
 * can never reach unmapped memory. File regions are detachable
 * ArrayBuffers: `close()` (and a window moving, and `remap()`) detaches the
 * old buffer (views become empty) and unmaps it at once.
 *
 * The region checks every argument and keeps the cursor, the sync timer
 * and the closed state; the memory behind it does the accesses, and is
 * where the kinds differ (memory.ts): `SharedMemory` for memory mapped
 * once, `FileWindow` for files.
 *
 * File regions add what absfs/memmapfs offers: a sliding window over files
 * larger than one mapping, truncation safety (see file-window.ts), and sync
 * modes that decide when written bytes reach the disk:
 *
 * | sync          | written bytes are on disk                                   |
 * |---------------|-------------------------------------------------------------|
 * | `'immediate'` | when the write method returns (msync after every call)      |
 * | `'periodic'`  | within `syncInterval` ms (an unref'd timer)                 |
 * | `'lazy'`      | when `close()` returns                                      |
 * | `'never'`     | when the OS writes them back, or `flush()` is called        |
 *
 * A background ('periodic') sync that fails emits `'error'` when the region
 * has an `'error'` listener; without one the first such error is kept and
 * thrown by the next `flush()` or `close()`, so it is never lost.
 */
import { EventEmitter } from 'node:events';
import { codes, closedError, invalidArg, outOfRange, ShmnetError } from '../errors.js';
import * as native from '../native.js';
import type { Advice, HugePages, Preload } from '../native.js';
import type { PageSpan, RegionKind, RegionMemory } from './memory.js';

/** Where `seek` counts from: 0/'start', 1/'current', 2/'end' (as io.Seeker). */
export type Whence = 0 | 1 | 2 | 'start' | 'current' | 'end';

/** When a file region's written bytes reach the disk; see the table above. */
export type SyncMode = 'immediate' | 'periodic' | 'lazy' | 'never';
export const SYNC_MODES: readonly SyncMode[] = ['immediate', 'periodic', 'lazy', 'never'];

/** What a region is, beyond its memory. */
export interface RegionOptions {
  /** Only file regions can be read-only. */
  readOnly?: boolean;
  /** The POSIX name of an `openShm` region. */
  name?: string;
  /** The SysV identifier of a `createSysV`/`openSysV` region. */
  id?: number;
  /** File regions: when written bytes reach the disk; default 'never'. */
  sync?: SyncMode;
  /** Milliseconds between 'periodic' syncs. */
  syncInterval?: number;
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

interface TickState {
  ref: WeakRef<MappedRegion>;
  timer: NodeJS.Timeout | undefined;
}

function checkInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArg(`${name} must be an integer, got ${String(v)}`);
  return v;
}

function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalidArg(`${name} must be a Buffer or Uint8Array`);
  return v;
}

/** Scratch for the 64-bit accessors. */
const scratch64 = Buffer.alloc(8);

export class MappedRegion extends EventEmitter {
  readonly kind: RegionKind;
  readonly readOnly: boolean;
  /** The POSIX name, for `openShm` regions. */
  readonly name: string | undefined;
  /** The SysV identifier, for `createSysV`/`openSysV` regions. */
  readonly id: number | undefined;
  /** When written bytes reach the disk (file regions; `'never'` for the others). */
  readonly sync: SyncMode;
  /** Milliseconds between syncs in `'periodic'` mode, else 0. */
  readonly syncInterval: number;

  readonly #memory: RegionMemory;
  #closed = false;
  #position = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The first background sync error nobody listened for. */
  #pendingError: Error | null = null;

  /** A region over `memory`, which it owns from now on (see memory.ts). */
  constructor(memory: RegionMemory, options: RegionOptions = {}) {
    super();
    this.#memory = memory;
    this.kind = memory.kind;
    this.readOnly = options.readOnly ?? false;
    this.name = options.name;
    this.id = options.id;
    this.sync = options.sync ?? 'never';
    this.syncInterval = this.sync === 'periodic' ? (options.syncInterval ?? 0) : 0;
    if (this.sync === 'periodic') {
      const state: TickState = { ref: new WeakRef(this), timer: undefined };
      // unref'd, and holding the region only weakly: it never keeps the
      // process alive, nor a region nobody references.
      state.timer = setInterval(MappedRegion.#tick, this.syncInterval, state);
      state.timer.unref();
      this.#timer = state.timer;
    }
  }

  static #tick(state: TickState): void {
    const region = state.ref.deref();
    if (region === undefined || region.#closed) {
      clearInterval(state.timer);
      return;
    }
    if (!region.#memory.pending) return;
    try {
      region.#memory.syncPending();
    } catch (err) {
      region.#background(err as Error);
    }
  }

  /** Routes a background sync failure: to `'error'` listeners, else kept for the next flush()/close(). */
  #background(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#pendingError ??= err;
  }

  #takePending(): Error | null {
    const err = this.#pendingError;
    this.#pendingError = null;
    return err;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes in the region: for a file, the requested length (or the file's length when it was last mapped). */
  get size(): number {
    return this.#memory.size;
  }

  /**
   * The underlying buffer: a SharedArrayBuffer for shared memory (use it for
   * `Atomics`), a detachable ArrayBuffer for files. The region's bytes start
   * at `byteOffset` within it. For a windowed file region this is the
   * current window's mapping, detached when the window moves.
   */
  get buffer(): SharedArrayBuffer | ArrayBuffer {
    this.#live();
    return this.#memory.rawBuffer();
  }

  get byteOffset(): number {
    this.#live();
    return this.#memory.byteOffset;
  }

  /**
   * A Buffer over the mapped bytes: the fast path with no checks. It covers
   * the whole region, except on a windowed file region, where it covers the
   * current window: region bytes [windowOffset, windowOffset + bytes.length).
   * A file region's Buffer is emptied when the window moves, `remap()` runs
   * or the region closes, so take it again after any method call.
   *
   * Unsafe for files: no truncation check. If another process truncates the
   * file, touching a page past its new end through this Buffer kills the
   * process with SIGBUS; the region's methods report SHMNET_ERR_TRUNCATED
   * instead. For a read-only file mapping, writes through it stay private
   * to this process (the mapping is copy-on-write) and never reach the file.
   */
  get bytes(): Buffer {
    this.#live();
    return this.#memory.rawBytes();
  }

  /** The region offset of `bytes[0]`: 0 unless the region is windowed. */
  get windowOffset(): number {
    this.#live();
    return this.#memory.windowOffset;
  }

  /** Whether only a sliding window of the region is mapped at a time. */
  get windowed(): boolean {
    return this.#memory.windowSize !== null;
  }

  /** Bytes mapped at a time: the window's length when windowed, else the region's size. */
  get windowSize(): number {
    return this.#memory.windowSize ?? this.size;
  }

  /** How the pages were preloaded when `populate` was asked for. */
  get preload(): Preload {
    return this.#memory.preload;
  }

  /** Whether the pages were pre-faulted at map time (`preload === 'populate'`). */
  get populated(): boolean {
    return this.preload === 'populate';
  }

  /** Which huge pages were used when `hugePages` was asked for. */
  get hugePages(): HugePages {
    return this.#memory.hugePages;
  }

  /** Whether the mapping uses reserved huge pages (`hugePages === 'hugetlb'`). */
  get huge(): boolean {
    return this.hugePages === 'hugetlb';
  }

  /** The cursor used by `read`, `write` and `seek`. */
  get position(): number {
    return this.#position;
  }

  #live(): void {
    if (this.#closed) throw closedError();
  }

  #checkWritable(): void {
    this.#live();
    if (this.readOnly) throw new ShmnetError(codes.READ_ONLY, `the ${this.kind} mapping is read-only`);
  }

  #offset(offset: unknown, what = 'offset'): number {
    const o = checkInteger(what, offset);
    if (o < 0 || o > this.size) throw outOfRange(`${what} ${o} is outside the region [0, ${this.size}]`);
    return o;
  }

  /**
   * Copies bytes starting at `offset` into `target`; returns how many were
   * copied (fewer than `target.length` only at the end of the region, 0 at
   * the end), as io.ReaderAt. On a file region, throws
   * `SHMNET_ERR_TRUNCATED` if the file no longer holds those bytes.
   */
  readAt(target: Uint8Array, offset: number): number {
    this.#live();
    checkBytes('target', target);
    const o = this.#offset(offset);
    const n = Math.min(target.length, this.size - o);
    if (n > 0) this.#memory.read(target, o, n);
    return n;
  }

  /**
   * Copies all of `source` to `offset`; a write that would not fit throws
   * and writes nothing. With `sync: 'immediate'` the bytes are on disk when
   * it returns (a failed msync throws; the bytes are then in the mapping
   * but not known to be on disk).
   */
  writeAt(source: Uint8Array, offset: number): number {
    this.#checkWritable();
    checkBytes('source', source);
    const o = this.#offset(offset);
    if (source.length > this.size - o) {
      throw outOfRange(`writing ${source.length} bytes at ${o} runs past the region's end (${this.size})`);
    }
    this.#memory.write(source, o, this.sync === 'immediate');
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

  /**
   * Moves the cursor; returns the new position. Past-the-end positions are
   * allowed, as io.Seeker. On a windowed region the window moves to it.
   */
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
    if (next < this.size) this.#memory.moveTo(next);
    this.#position = next;
    return next;
  }

  /** Reads a little-endian unsigned 64-bit value. */
  readUint64At(offset: number): bigint {
    this.#live();
    const o = this.#offset(offset);
    if (o + 8 > this.size) throw outOfRange(`a 64-bit read at ${o} runs past the region's end (${this.size})`);
    this.#memory.read(scratch64, o, 8);
    return scratch64.readBigUInt64LE(0);
  }

  /** Writes a little-endian unsigned 64-bit value. */
  writeUint64At(offset: number, value: bigint): void {
    this.#checkWritable();
    const o = this.#offset(offset);
    if (typeof value !== 'bigint') throw invalidArg('value must be a bigint');
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw outOfRange(`value ${value} does not fit in 64 unsigned bits`);
    if (o + 8 > this.size) throw outOfRange(`a 64-bit write at ${o} runs past the region's end (${this.size})`);
    scratch64.writeBigUInt64LE(value, 0);
    this.#memory.write(scratch64, o, this.sync === 'immediate');
  }

  /** Validates an optional sub-range; returns region offsets [from, to). */
  #range(opts: RangeOptions | undefined): [number, number] {
    const offset = opts?.offset === undefined ? 0 : this.#offset(opts.offset);
    const length = opts?.length === undefined ? this.size - offset : checkInteger('length', opts.length);
    if (length < 0 || length > this.size - offset) {
      throw outOfRange(`range [${offset}, ${offset + length}) is outside the region [0, ${this.size}]`);
    }
    return [offset, offset + length];
  }

  /**
   * The pages of an optional sub-range. On a windowed region the default is
   * the current window, and a range given must fit in one window, which
   * moves there.
   */
  #pages(opts: RangeOptions | undefined): PageSpan {
    const given = opts?.offset !== undefined || opts?.length !== undefined;
    return this.#memory.pages(given ? this.#range(opts) : null, opts?.length === undefined);
  }

  /**
   * Writes dirty pages back (msync; on Windows FlushViewOfFile and
   * FlushFileBuffers). A no-op for anonymous memory and SysV. On a file
   * region it also covers what earlier windows left dirty (fdatasync), and
   * then throws a background sync error kept for it, if any.
   */
  flush(opts: FlushOptions = {}): void {
    this.#live();
    const [from, to] = this.#range(opts);
    this.#memory.flush(from, to, opts.offset === undefined && opts.length === undefined, opts.async === true);
    const kept = this.#takePending();
    if (kept !== null) throw kept;
  }

  /**
   * Gives the kernel a hint about the access pattern (madvise). On a
   * windowed region it applies to the current window (see `windowOffset`).
   */
  advise(advice: Advice, opts?: RangeOptions): void {
    this.#live();
    if (!native.ADVICE.includes(advice)) {
      throw invalidArg(`advice must be one of ${native.ADVICE.join(', ')}, got ${String(advice)}`);
    }
    if ((advice === 'hugepage' || advice === 'nohugepage') && native.platform !== 'linux') {
      throw new ShmnetError(codes.UNSUPPORTED, `advice '${advice}' exists only on Linux`);
    }
    const [buffer, start, length] = this.#pages(opts);
    if (length > 0) native.advise(buffer, start, length, advice);
  }

  /** Locks the pages in RAM (mlock). On a windowed region: the current window, until it moves. */
  lock(opts?: RangeOptions): void {
    this.#live();
    const [buffer, start, length] = this.#pages(opts);
    if (length > 0) native.lock(buffer, start, length);
  }

  unlock(opts?: RangeOptions): void {
    this.#live();
    const [buffer, start, length] = this.#pages(opts);
    if (length > 0) native.unlock(buffer, start, length);
  }

  /**
   * Maps a file region again at the file's current size (the requested
   * length, or less if the file is now shorter): after another process
   * truncated or grew the file. Old views are emptied; the cursor stays.
   * Throws `SHMNET_ERR_TRUNCATED` if the file now ends before the region
   * starts, leaving the region as it was. A 'cow' region loses its private
   * changes. Other kinds throw `SHMNET_ERR_UNSUPPORTED`.
   */
  remap(): void {
    this.#live();
    this.#memory.remap();
  }

  /**
   * Releases the region. Afterwards every method throws
   * `SHMNET_ERR_CLOSED`. Closing twice is a no-op. A file region in any
   * sync mode but `'never'` first syncs what was written; a failure of that
   * sync, or a kept background sync error, is thrown after everything is
   * released.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    let error: unknown = null;
    if (this.sync !== 'never' && this.#memory.pending) {
      try {
        this.#memory.syncPending();
      } catch (err) {
        error = err;
      }
    }
    try {
      this.#memory.close();
    } catch (err) {
      error ??= err;
    }
    error ??= this.#takePending();
    this.emit('close');
    if (error !== null) throw error;
  }
}
