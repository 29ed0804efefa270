/**
 * `RegionMemory`: what a `MappedRegion` needs from the memory behind it.
 *
 * A region checks arguments, keeps the cursor, the sync timer and the
 * closed state; the memory does the accesses. There are two kinds:
 * `SharedMemory` (shared-memory.ts), mapped once at creation (named POSIX
 * objects, memfds, anonymous memory, SysV segments), and `FileWindow`
 * (file-window.ts), the mapped part of a file, which can move, be mapped
 * again and has writes to sync. Offsets here are region offsets the region
 * has already checked against `size`.
 */
import * as native from '../native.js';
import type { HugePages, Preload } from '../native.js';

export type RegionKind = 'file' | 'shm' | 'anonymous' | 'sysv';

/** A page-aligned stretch of a mapping, for msync, madvise and mlock: [buffer, start, length]. */
export type PageSpan = [buffer: SharedArrayBuffer | ArrayBuffer, start: number, length: number];

export interface RegionMemory {
  readonly kind: RegionKind;
  /** Bytes in the region. */
  readonly size: number;
  /** Bytes mapped at a time when only a window is mapped, else null. */
  readonly windowSize: number | null;
  readonly preload: Preload;
  readonly hugePages: HugePages;
  /** Where the current mapping's bytes start in `rawBuffer()`. */
  readonly byteOffset: number;
  /** The region offset of the current mapping's first byte. */
  readonly windowOffset: number;
  /** Whether written bytes may wait for a sync. */
  readonly pending: boolean;

  /** The current mapping, handed to the caller, who may write it at any time. */
  rawBuffer(): SharedArrayBuffer | ArrayBuffer;
  /** A Buffer over the current mapping, handed to the caller likewise. */
  rawBytes(): Buffer;
  /** Copies region bytes [pos, pos + n) into `target` from byte 0. */
  read(target: Uint8Array, pos: number, n: number): void;
  /** Copies all of `source` to region offset `pos`; with `immediate`, on disk when it returns. */
  write(source: Uint8Array, pos: number, immediate: boolean): void;
  /** The cursor moved to `pos` (< size). */
  moveTo(pos: number): void;
  /**
   * The pages holding region bytes [from, to); `range` null means the
   * default (what is mapped now). `open`: the range runs to the region's
   * end because no length was given, so it may be cut to what fits.
   */
  pages(range: [from: number, to: number] | null, open: boolean): PageSpan;
  /** Writes region bytes [from, to) back; `whole`: no range was given. */
  flush(from: number, to: number, whole: boolean, async: boolean): void;
  /** Writes back what `pending` says may wait. */
  syncPending(): void;
  /** Maps the memory again at its current size. */
  remap(): void;
  /** Releases the memory; nothing is called afterwards. */
  close(): void;
}

export function alignDown(v: number): number {
  return v - (v % native.pageSize);
}

/** The whole pages of `buffer` holding its bytes [start, start + n). */
export function pageSpan(buffer: SharedArrayBuffer | ArrayBuffer, start: number, n: number): PageSpan {
  const aligned = alignDown(start);
  return [buffer, aligned, start + n - aligned];
}
