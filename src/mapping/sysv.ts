/**
 * System V shared memory, as godcong/mmap's `OpenMem(id, size)` uses it: a
 * segment is known by its numeric id, so a Go program calling
 * `OpenMem(id, size)` and a Node program calling `openSysV(id)` see the
 * same bytes.
 */
import { invalidArg } from '../errors.js';
import * as native from '../native.js';
import type { MappedRegion } from './region.js';
import { sharedRegion } from './shared-memory.js';
import type { HugePages } from '../native.js';
import { checkMode, checkOptions, checkSize, mapFlags, type MapHints } from './validate.js';

/**
 * `populate`: MADV_POPULATE_READ after attaching (MADV_WILLNEED before Linux
 * 5.14); `hugePages`: SHM_HUGETLB when creating with huge pages reserved,
 * else transparent huge pages.
 */
export interface OpenSysVOptions extends MapHints {}

export interface CreateSysVOptions extends MapHints {
  mode?: number;
}

function checkId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
    throw invalidArg(`a SysV id is a non-negative 32-bit integer, got ${String(id)}`);
  }
  return id;
}

function attach(id: number, size: number, flags: number, created?: HugePages): MappedRegion {
  const mapped = native.sysvAttach(id, size, flags);
  if (created === 'hugetlb') mapped.hugePages = created;
  // shmdt runs when the last view is collected.
  return sharedRegion('sysv', mapped, size, { id });
}

/** Creates a private SysV segment (IPC_PRIVATE) and attaches it; `region.id` names it. */
export function createSysV(size: number, options?: CreateSysVOptions): MappedRegion {
  const length = checkSize('size', size);
  const o = checkOptions<CreateSysVOptions>(options, 'createSysV');
  const mode = checkMode(o.mode ?? 0o600);
  const flags = mapFlags(o);
  const { id, hugePages } = native.sysvCreate(length, mode, flags);
  try {
    return attach(id, length, flags, hugePages);
  } catch (err) {
    native.sysvRemove(id);
    throw err;
  }
}

/** Attaches an existing segment by id, at its real size. */
export function openSysV(id: number, options?: OpenSysVOptions): MappedRegion {
  const i = checkId(id);
  const flags = mapFlags(checkOptions<OpenSysVOptions>(options, 'openSysV'));
  return attach(i, checkSize('segment size', native.sysvSize(i)), flags);
}

/** Marks a segment for removal; it goes when the last process detaches. */
export function removeSysV(id: number): void {
  native.sysvRemove(checkId(id));
}
