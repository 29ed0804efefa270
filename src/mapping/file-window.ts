/**
 * `FileWindow`: the mapped part of a file region, and every access to it.
 *
 * A file region maps either its whole range at once or, when it is large,
 * a sliding window of `windowSize` bytes that moves to wherever the
 * region's methods read or write. An old window is unmapped as soon as the
 * next one is mapped, so views of it are detached (empty), never dangling.
 *
 * Truncation safety: touching a page of a file mapping past the file's end
 * is SIGBUS, and another process may truncate the file at any time. Every
 * access therefore checks, with one fstat on the fd the region keeps open,
 * that the file still holds the bytes, and then copies through the addon's
 * guarded copy, which turns a truncation racing that check into an error as
 * well. Direct access through `region.bytes` has neither protection.
 *
 * Dirty tracking, for the sync modes: `#dirty` says the current mapping was
 * written through the region's methods since its last msync; `#raw` says
 * the caller took the raw view of a shared mapping, so it may be written at
 * any time. A dirty mapping that is unmapped (the window moved, `remap()`)
 * leaves its pages dirty in the page cache, where msync no longer reaches
 * them: `#staleDirty` asks the next full sync for an fdatasync of the file.
 */
import { closeSync, fdatasyncSync } from 'node:fs';
import { codes, fromNodeError, invalidArg, outOfRange, ShmnetError } from '../errors.js';
import * as native from '../native.js';
import type { HugePages, Preload } from '../native.js';
import { alignDown, pageSpan, type PageSpan, type RegionMemory } from './memory.js';
import { MAX_MAPPING_SIZE } from './validate.js';

/** The window a region larger than `WINDOW_THRESHOLD` gets unless `window` says otherwise: 1 GiB. */
export const DEFAULT_WINDOW_SIZE = 2 ** 30;
/**
 * Regions longer than this (2 GiB) are mapped through a window by default:
 * below the 4 GiB a Node 20 Buffer can cover, so every larger file works.
 */
export const WINDOW_THRESHOLD = 2 ** 31;

export interface FilePlan {
  path: string;
  fd: number;
  /** Writes reach the file (mode 'rw'): the only case with anything to sync. */
  shared: boolean;
  /** Copy-on-write ('cow'): private changes live only in the mapping, so it cannot move. */
  copyOnWrite: boolean;
  prot: number;
  flags: number;
  /** File offset of region byte 0; need not be page aligned. */
  offset: number;
  /** The requested length; undefined: to the end of the file. */
  length: number | undefined;
  /** The requested window; undefined: `DEFAULT_WINDOW_SIZE` above `WINDOW_THRESHOLD`; false: never. */
  window: number | false | undefined;
}

/** The current mapping, in region offsets. */
export interface View {
  /** The mapping; it starts at a page boundary of the file. */
  buffer: ArrayBuffer;
  /** Where region byte `start` sits in `buffer`. */
  byteOffset: number;
  /** `buffer` over region bytes [start, end). */
  bytes: Buffer;
  start: number;
  end: number;
}

export class FileWindow implements RegionMemory {
  readonly kind = 'file';
  readonly path: string;
  readonly fd: number;
  readonly handle: number;
  /** Region size: the requested length, or what the file held when last mapped. */
  size = 0;
  /** Window length (a multiple of the page size), or null when the whole region is mapped. */
  windowSize: number | null = null;
  #view: View;
  preload: Preload = 'none';
  hugePages: HugePages = 'none';

  readonly #plan: FilePlan;
  /** The handle msync passes on for FlushFileBuffers (Windows): only a writable file has buffers to flush. */
  readonly #flushHandle: number;
  #dirty = false;
  #raw = false;
  #staleDirty = false;

  constructor(plan: FilePlan) {
    this.#plan = plan;
    this.path = plan.path;
    this.fd = plan.fd;
    this.handle = native.fdHandle(plan.fd);
    this.#flushHandle = plan.shared ? this.handle : -1;
    this.#resize(native.handleSize(this.handle), true);
    this.#view = this.#mapAt(0, false);
  }

  /** Sets `size` and `windowSize` for a file of `fileSize` bytes (strict: as mapFile, else as remap). */
  #resize(fileSize: number, strict: boolean): void {
    const { path, offset, length, window } = this.#plan;
    if (offset >= fileSize) {
      if (strict) throw outOfRange(`offset ${offset} is at or past the end of ${path} (${fileSize} bytes)`);
      throw new ShmnetError(codes.TRUNCATED, `${path} now ends at ${fileSize}, at or before the region's start (${offset})`, {
        path,
      });
    }
    const available = fileSize - offset;
    if (strict && length !== undefined && length > available) {
      throw outOfRange(`offset ${offset} + length ${length} runs past the end of ${path} (${fileSize} bytes)`);
    }
    const size = Math.min(length ?? available, available);
    let windowSize: number | null = null;
    const wanted = window === false ? undefined : (window ?? (size > WINDOW_THRESHOLD ? DEFAULT_WINDOW_SIZE : undefined));
    if (wanted !== undefined) {
      const rounded = Math.ceil(wanted / native.pageSize) * native.pageSize;
      if (rounded > MAX_MAPPING_SIZE) throw outOfRange(`window ${wanted} exceeds the largest mappable region (${MAX_MAPPING_SIZE})`);
      // A window that covers the whole mapping is no window.
      if (rounded < (offset % native.pageSize) + size) windowSize = rounded;
    }
    if (windowSize === null && size > MAX_MAPPING_SIZE) {
      throw outOfRange(`${size} bytes exceed the largest region mapped at once (${MAX_MAPPING_SIZE}); use a window`);
    }
    if (windowSize !== null && this.#plan.copyOnWrite) {
      throw invalidArg(
        `a 'cow' region cannot be windowed: its private changes would be lost when the window moves (${size} bytes, window ${windowSize})`,
      );
    }
    this.size = size;
    this.windowSize = windowSize;
  }

  /**
   * Maps the window holding region offset `pos`: starting at its page when
   * moving forward, ending just past it when moving backward (so a
   * backward scan does not remap on every call).
   */
  #mapAt(pos: number, backward: boolean): View {
    const regionStart = this.#plan.offset;
    const regionEnd = regionStart + this.size;
    const first = alignDown(regionStart);
    let mapStart = first;
    let mapEnd = regionEnd;
    if (this.windowSize !== null) {
      const at = alignDown(regionStart + pos);
      mapStart = backward ? Math.max(first, at + native.pageSize - this.windowSize) : at;
      mapEnd = Math.min(mapStart + this.windowSize, regionEnd);
    }
    const m = native.mapFile(this.handle, mapStart, mapEnd - mapStart, this.#plan.prot, this.#plan.flags);
    this.preload = m.preload;
    this.hugePages = m.hugePages;
    const lo = Math.max(mapStart, regionStart);
    const byteOffset = lo - mapStart;
    return {
      buffer: m.buffer,
      byteOffset,
      bytes: Buffer.from(m.buffer, byteOffset, mapEnd - lo),
      start: lo - regionStart,
      end: mapEnd - regionStart,
    };
  }

  /** Unmaps a view that is no longer current, remembering unsynced writes. */
  #retire(old: View): void {
    if (this.#dirty || this.#raw) this.#staleDirty = true;
    this.#dirty = false;
    native.unmap(old.buffer);
  }

  /** The view holding region offset `pos` (< size), moving the window there if needed. */
  #viewAt(pos: number): View {
    const v = this.#view;
    if (pos >= v.start && pos < v.end) return v;
    const next = this.#mapAt(pos, pos < v.start);
    this.#view = next;
    this.#retire(v);
    return next;
  }

  /** The caller took the raw view: from now on it may be written at any time. */
  #markRaw(): void {
    if (this.#plan.shared) this.#raw = true;
  }

  rawBuffer(): ArrayBuffer {
    this.#markRaw();
    return this.#view.buffer;
  }

  rawBytes(): Buffer {
    this.#markRaw();
    return this.#view.bytes;
  }

  get byteOffset(): number {
    return this.#view.byteOffset;
  }

  get windowOffset(): number {
    return this.#view.start;
  }

  moveTo(pos: number): void {
    this.#viewAt(pos);
  }

  /**
   * The default is the current window; a range given must fit in one
   * window, which moves there (an open range is cut to the window's end).
   */
  pages(range: [number, number] | null, open: boolean): PageSpan {
    let from = this.#view.start;
    let to = this.#view.end;
    if (range !== null) {
      [from, to] = range;
      if (to > from && (from < this.#view.start || to > this.#view.end)) {
        this.#viewAt(from);
        if (open) to = Math.min(to, this.#view.end);
        if (to > this.#view.end) {
          throw outOfRange(`range [${from}, ${to}) does not fit in one window (${this.windowSize} bytes)`);
        }
      }
    }
    const v = this.#view;
    return pageSpan(v.buffer, v.byteOffset + (from - v.start), to - from);
  }

  /** Also covers what earlier windows left dirty (fdatasync). */
  flush(from: number, to: number, whole: boolean, async: boolean): void {
    if (whole) this.#syncAll(true, async);
    else this.#syncRange(from, to, async);
  }

  syncPending(): void {
    this.#syncAll(false, false);
  }

  /** Whether anything may wait for a sync. */
  get pending(): boolean {
    return this.#dirty || this.#raw || this.#staleDirty;
  }

  /** Copies region bytes [pos, pos + n) into `target` from byte 0. */
  read(target: Uint8Array, pos: number, n: number): void {
    let handle = this.handle;
    for (let done = 0; done < n; ) {
      const at = pos + done;
      const v = this.#viewAt(at);
      const k = Math.min(n - done, v.end - at);
      const r = native.copy(target.buffer, target.byteOffset + done, v.buffer, v.byteOffset + (at - v.start), k, handle, this.#plan.offset + pos + n);
      if (r !== native.COPIED) throw this.#accessError(r, pos, n);
      // The first chunk checked the file's size for the whole access.
      handle = -1;
      done += k;
    }
  }

  /** Copies all of `source` to region offset `pos`; with `immediate`, msyncs each piece before moving on. */
  write(source: Uint8Array, pos: number, immediate: boolean): void {
    const n = source.length;
    let handle = this.handle;
    for (let done = 0; done < n; ) {
      const at = pos + done;
      const v = this.#viewAt(at);
      const k = Math.min(n - done, v.end - at);
      const r = native.copy(v.buffer, v.byteOffset + (at - v.start), source.buffer, source.byteOffset + done, k, handle, this.#plan.offset + pos + n);
      if (r !== native.COPIED) throw this.#accessError(r, pos, n);
      handle = -1;
      // Private ('cow') writes never reach the file: nothing to sync.
      if (this.#plan.shared) {
        if (immediate) this.#msync(v, at, at + k, false);
        else this.#dirty = true;
      }
      done += k;
    }
  }

  #accessError(r: number, pos: number, n: number): ShmnetError {
    const a = this.#plan.offset + pos;
    const b = a + n;
    let size = r;
    if (r === native.FAULTED) {
      size = native.handleSize(this.handle);
      if (size >= b) {
        return new ShmnetError(
          codes.SYSCALL,
          `a page of ${this.path} in [${a}, ${b}) could not be read or written (SIGBUS): an I/O error, or no space left to fill a hole`,
          { syscall: 'memcpy', sysCode: 'EFAULT', path: this.path },
        );
      }
    }
    return new ShmnetError(
      codes.TRUNCATED,
      `${this.path} was truncated to ${size} bytes: [${a}, ${b}) is past its end; remap() maps it again`,
      { path: this.path },
    );
  }

  /** msync of region bytes [from, to) within view `v`, widened to whole pages. */
  #msync(v: View, from: number, to: number, async: boolean): void {
    const lo = Math.max(from, v.start);
    const hi = Math.min(to, v.end);
    if (hi <= lo) return;
    // The mapping starts on a page boundary, so buffer offsets align as file offsets do.
    const start = alignDown(v.byteOffset + (lo - v.start));
    native.sync(v.buffer, start, v.byteOffset + (hi - v.start) - start, async, this.#flushHandle);
  }

  #datasync(): void {
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      throw fromNodeError(err, this.path);
    }
    this.#staleDirty = false;
  }

  /** Syncs region bytes [from, to): the part mapped now, and whatever earlier windows left dirty. */
  #syncRange(from: number, to: number, async: boolean): void {
    const v = this.#view;
    this.#msync(v, from, to, async);
    if (async) return;
    if (from <= v.start && to >= v.end) this.#dirty = false;
    if (this.#staleDirty) this.#datasync();
  }

  /** Syncs everything written: the current mapping (if dirty, or always with `force`) and earlier windows. */
  #syncAll(force: boolean, async: boolean): void {
    const v = this.#view;
    if (force || this.#dirty || this.#raw) {
      native.sync(v.buffer, 0, v.buffer.byteLength, async, this.#flushHandle);
      if (!async) this.#dirty = false;
    }
    if (!async && this.#staleDirty) this.#datasync();
  }

  /**
   * Maps the file again at its current size (the requested length, or less
   * if the file is now shorter). On failure nothing changes.
   */
  remap(): void {
    const oldSize = this.size;
    const oldWindow = this.windowSize;
    const old = this.#view;
    let next: View;
    try {
      this.#resize(native.handleSize(this.handle), false);
      next = this.#mapAt(old.start < this.size ? old.start : 0, false);
    } catch (err) {
      this.size = oldSize;
      this.windowSize = oldWindow;
      throw err;
    }
    this.#view = next;
    this.#retire(old);
  }

  /** Unmaps and closes the fd. */
  close(): void {
    try {
      native.unmap(this.#view.buffer);
    } finally {
      closeSync(this.fd);
    }
  }
}
