/**
 * `SharedMemory`: the memory of a region mapped once, as a SharedArrayBuffer
 * (named POSIX objects, memfds, anonymous memory, SysV segments).
 *
 * It stays mapped until the last JS reference to the buffer is collected,
 * so even an old `bytes` view a caller kept can never reach unmapped
 * memory; `close()` only drops the region's references. It never moves and
 * has nothing to sync but what `flush()` asks for.
 */
import { codes, ShmnetError } from '../errors.js';
import * as native from '../native.js';
import type { HugePages, MapResult, Preload } from '../native.js';
import { MappedRegion, type RegionOptions } from './region.js';
import { pageSpan, type PageSpan, type RegionKind, type RegionMemory } from './memory.js';

const EMPTY = new SharedArrayBuffer(0);

export class SharedMemory implements RegionMemory {
  readonly kind: Exclude<RegionKind, 'file'>;
  readonly size: number;
  readonly windowSize = null;
  readonly preload: Preload;
  readonly hugePages: HugePages;
  readonly byteOffset = 0;
  readonly windowOffset = 0;
  readonly pending = false;

  #buffer: SharedArrayBuffer;
  #bytes: Buffer;
  /** For error messages: the POSIX name, if any. */
  readonly #name: string | undefined;
  /**
   * Copies through the addon's guarded copy: a POSIX object or a memfd can
   * be truncated by any process that can open it, which makes its pages
   * vanish (SIGBUS) just as a file's do. Anonymous and SysV memory cannot
   * shrink and keep the plain JS copy; they have no backing store to sync.
   */
  readonly #object: boolean;

  constructor(kind: Exclude<RegionKind, 'file'>, mapped: MapResult<SharedArrayBuffer>, size: number, name?: string) {
    this.kind = kind;
    this.size = size;
    this.preload = mapped.preload;
    this.hugePages = mapped.hugePages;
    this.#buffer = mapped.buffer;
    this.#bytes = Buffer.from(mapped.buffer, 0, size);
    this.#name = name;
    this.#object = kind === 'shm';
  }

  rawBuffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  rawBytes(): Buffer {
    return this.#bytes;
  }

  read(target: Uint8Array, pos: number, n: number): void {
    if (!this.#object) {
      target.set(this.#bytes.subarray(pos, pos + n));
      return;
    }
    const r = native.copy(target.buffer, target.byteOffset, this.#buffer, pos, n);
    if (r !== native.COPIED) throw this.#vanished(pos, n);
  }

  write(source: Uint8Array, pos: number): void {
    if (!this.#object) {
      this.#bytes.set(source, pos);
      return;
    }
    const r = native.copy(this.#buffer, pos, source.buffer, source.byteOffset, source.length);
    if (r !== native.COPIED) throw this.#vanished(pos, source.length);
  }

  #vanished(pos: number, n: number): ShmnetError {
    const what = this.#name === undefined ? 'a shared-memory object' : `shared-memory object ${this.#name}`;
    return new ShmnetError(
      codes.TRUNCATED,
      `pages of ${what} in [${pos}, ${pos + n}) are gone (SIGBUS): ` +
        'another process truncated it, or its filesystem could not supply the page',
    );
  }

  /** Mapped whole: there is no window to move. */
  moveTo(): void {}

  pages(range: [number, number] | null): PageSpan {
    const [from, to] = range ?? [0, this.size];
    return pageSpan(this.#buffer, from, to - from);
  }

  flush(from: number, to: number, _whole: boolean, async: boolean): void {
    if (!this.#object) return;
    const [buffer, start, length] = this.pages([from, to]);
    if (length > 0) native.sync(buffer, start, length, async);
  }

  /** Never called: `pending` is always false, the region's methods write no file. */
  syncPending(): void {}

  remap(): void {
    throw new ShmnetError(codes.UNSUPPORTED, `remap() applies to file regions, not ${this.kind}`);
  }

  close(): void {
    this.#buffer = EMPTY;
    this.#bytes = Buffer.alloc(0);
  }
}

/** A region over memory mapped once; `options` names it (`name`, `id`). */
export function sharedRegion(
  kind: Exclude<RegionKind, 'file'>,
  mapped: MapResult<SharedArrayBuffer>,
  size: number,
  options: Pick<RegionOptions, 'name' | 'id'> = {},
): MappedRegion {
  return new MappedRegion(new SharedMemory(kind, mapped, size, options.name), options);
}
