/** File mapping: `mapFile`. */
import { closeSync, openSync } from 'node:fs';
import { fromNodeError, invalidArg, outOfRange } from '../errors.js';
import * as native from '../native.js';
import { FileWindow } from './file-window.js';
import { MappedRegion, SYNC_MODES, type SyncMode } from './region.js';
import { checkOptions, checkSize, mapFlags } from './validate.js';

export type FileMapMode = 'r' | 'rw' | 'cow';

/** The default period of `sync: 'periodic'`, in milliseconds. */
export const DEFAULT_SYNC_INTERVAL = 5000;
/** The longest period a timer accepts. */
const MAX_SYNC_INTERVAL = 2 ** 31 - 1;

export interface MapFileOptions {
  /** 'r' read-only, 'rw' writes reach the file, 'cow' writes stay private. */
  mode?: FileMapMode;
  /** Where the mapping starts in the file; need not be page aligned. */
  offset?: number;
  /** Bytes to map; defaults to the rest of the file. */
  length?: number;
  /**
   * Preload the pages at map time (MAP_POPULATE for 'rw', MADV_POPULATE_READ
   * otherwise, MADV_WILLNEED or PrefetchVirtualMemory where those do not
   * exist); `region.preload` tells what was done. On a windowed region it
   * applies to each window as it is mapped.
   */
  populate?: boolean;
  /**
   * Ask for huge pages: MAP_HUGETLB for a file on hugetlbfs, else
   * transparent huge pages (MADV_HUGEPAGE); `region.hugePages` tells which.
   */
  hugePages?: boolean;
  /**
   * Map a sliding window of this many bytes (rounded up to whole pages)
   * instead of the whole range; `false` never windows. By default a region
   * longer than `WINDOW_THRESHOLD` (2 GiB) gets a `DEFAULT_WINDOW_SIZE`
   * (1 GiB) window. Not allowed with mode 'cow'.
   */
  window?: number | false;
  /** When written bytes reach the disk (mode 'rw' only); default 'never'. */
  sync?: SyncMode;
  /** Milliseconds between syncs with `sync: 'periodic'`; default 5000. */
  syncInterval?: number;
}

/**
 * Maps a file, or part of it. Mappings never reach past the file's current
 * end (that would be SIGBUS on access), and the region's methods check the
 * file's size before every access, so a file another process truncates
 * gives `SHMNET_ERR_TRUNCATED`, never a crash. Mode 'r' is mapped
 * copy-on-write, so a stray write through `region.bytes` stays in this
 * process; the region's write methods refuse with `SHMNET_ERR_READ_ONLY`.
 * The region keeps the file open until `close()`.
 */
export function mapFile(path: string, options?: MapFileOptions): MappedRegion {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg('path must be a non-empty string');
  const o = checkOptions<MapFileOptions>(options, 'mapFile');
  const mode = o.mode ?? 'r';
  if (mode !== 'r' && mode !== 'rw' && mode !== 'cow') {
    throw invalidArg(`mode must be 'r', 'rw' or 'cow', got ${String(mode)}`);
  }
  const offset = o.offset === undefined ? 0 : checkSize('offset', o.offset, { allowZero: true, max: Number.MAX_SAFE_INTEGER });
  const length = o.length === undefined ? undefined : checkSize('length', o.length, { max: Number.MAX_SAFE_INTEGER });
  let window: number | false | undefined;
  if (o.window === false || o.window === undefined) window = o.window;
  else window = checkSize('window', o.window, { max: Number.MAX_SAFE_INTEGER });
  const flags = mapFlags(o);
  const sync = o.sync ?? 'never';
  if (!SYNC_MODES.includes(sync)) throw invalidArg(`sync must be one of ${SYNC_MODES.join(', ')}, got ${String(sync)}`);
  if (sync !== 'never' && mode !== 'rw') {
    throw invalidArg(`sync '${sync}' needs mode 'rw': writes to a '${mode}' mapping never reach the file`);
  }
  if (o.syncInterval !== undefined && sync !== 'periodic') throw invalidArg("syncInterval applies to sync: 'periodic'");
  const syncInterval = sync === 'periodic' ? checkInterval(o.syncInterval ?? DEFAULT_SYNC_INTERVAL) : 0;

  let fd: number;
  try {
    fd = openSync(path, mode === 'rw' ? 'r+' : 'r');
  } catch (err) {
    throw fromNodeError(err, path);
  }
  let file: FileWindow;
  try {
    file = new FileWindow({
      path,
      fd,
      shared: mode === 'rw',
      copyOnWrite: mode === 'cow',
      prot: mode === 'rw' ? native.PROT_READ_WRITE : native.PROT_COPY_ON_WRITE,
      flags,
      offset,
      length,
      window,
    });
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return new MappedRegion(file, { readOnly: mode === 'r', sync, syncInterval });
}

function checkInterval(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArg(`syncInterval must be an integer, got ${String(v)}`);
  if (v < 1 || v > MAX_SYNC_INTERVAL) throw outOfRange(`syncInterval must be 1 to ${MAX_SYNC_INTERVAL} ms, got ${v}`);
  return v;
}
