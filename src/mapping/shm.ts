/** Named POSIX shared memory: `openShm`, `unlinkShm`. */
import { codes, invalidArg, outOfRange, ShmnetError } from '../errors.js';
import * as native from '../native.js';
import type { MappedRegion } from './region.js';
import { sharedRegion } from './shared-memory.js';
import { checkMode, checkOptions, checkSize, mapFlags, type MapHints } from './validate.js';

/**
 * `populate`: MAP_POPULATE (MADV_WILLNEED on macOS); `hugePages`:
 * transparent huge pages (POSIX objects live on tmpfs, not hugetlbfs).
 */
export interface OpenShmOptions extends MapHints {
  /** Bytes to map; required with `create`. Defaults to the object's size when opening. */
  size?: number;
  /** Create the object if it does not exist (its pages are reserved at once). */
  create?: boolean;
  /** With `create`: fail with `SHMNET_ERR_EXISTS` if it exists already. */
  exclusive?: boolean;
  /** Permission bits for a new object (on macOS narrowed by the umask: XNU has no fchmod for shm). */
  mode?: number;
}

/** macOS limits POSIX shm names to 31 characters (PSHMNAMLEN), Linux to NAME_MAX. */
const MAX_NAME_LENGTH = native.platform === 'darwin' ? 31 : 255;

/** Checks a POSIX shm name and returns it with its leading slash. */
export function normalizeShmName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArg('name must be a string');
  const n = name.startsWith('/') ? name : `/${name}`;
  if (n.length < 2 || n.length > MAX_NAME_LENGTH || n.indexOf('/', 1) !== -1 || n.includes('\0')) {
    throw invalidArg(
      `invalid shared-memory name ${JSON.stringify(name)}: 1 to ${MAX_NAME_LENGTH - 1} characters, no '/' after the first`,
    );
  }
  return n;
}

/**
 * Opens (or creates) a named shared-memory object and maps it read-write.
 * Creating reserves the pages, so a full `/dev/shm` fails now with
 * `SHMNET_ERR_NO_SPACE` instead of SIGBUS later. Opening never maps past the
 * object's real size.
 */
export function openShm(name: string, options?: OpenShmOptions): MappedRegion {
  const n = normalizeShmName(name);
  const o = checkOptions<OpenShmOptions>(options, 'openShm');
  const create = o.create === true;
  const exclusive = o.exclusive === true;
  if (exclusive && !create) throw invalidArg('exclusive needs create: true');
  const mode = checkMode(o.mode ?? 0o600);
  if (create && o.size === undefined) throw invalidArg('size is required to create a shared-memory object');
  const size = o.size === undefined ? undefined : checkSize('size', o.size);
  const mapHints = mapFlags(o);

  const flags = (create ? native.SHM_CREATE : 0) | (exclusive ? native.SHM_EXCLUSIVE : 0);
  const opened = native.shmOpen(n, flags, mode, size ?? 0);
  try {
    if (opened.size === 0) throw new ShmnetError(codes.OUT_OF_RANGE, `shared-memory object ${n} is empty`);
    if (size !== undefined && size > opened.size) {
      throw outOfRange(`size ${size} exceeds the size of ${n} (${opened.size} bytes)`);
    }
    const length = size ?? checkSize('object size', opened.size);
    // The memory stays mapped until the last view is collected.
    return sharedRegion('shm', native.mapShared(opened.handle, 0, length, native.PROT_READ_WRITE, mapHints), length, { name: n });
  } catch (err) {
    if (opened.created) {
      try {
        native.shmUnlink(n);
      } catch {
        // the name is gone already
      }
    }
    throw err;
  } finally {
    native.handleClose(opened.handle);
  }
}

/** Removes a name; the memory lives on until every mapping of it is gone. */
export function unlinkShm(name: string): void {
  native.shmUnlink(normalizeShmName(name));
}
