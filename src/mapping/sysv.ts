/**
 * System V shared memory, as godcong/mmap's `OpenMem(id, size)` uses it: a
 * segment is known by its numeric id, so a Go program calling
 * `OpenMem(id, size)` and a Node program calling `openSysV(id)` see the
 * same bytes.
 */
import { invalidArg } from '../errors.js';
import * as native from '../native.js';
import { MappedRegion } from './region.js';
import { checkMode, checkOptions, checkSize } from './validate.js';

export interface CreateSysVOptions {
  mode?: number;
}

function checkId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
    throw invalidArg(`a SysV id is a non-negative 32-bit integer, got ${String(id)}`);
  }
  return id;
}

function attach(id: number, size: number): MappedRegion {
  const mapped = native.sysvAttach(id, size);
  return new MappedRegion({
    kind: 'sysv',
    buffer: mapped.buffer,
    byteOffset: 0,
    size,
    readOnly: false,
    id,
    // shmdt runs when the last view is collected.
    release: () => {},
  });
}

/** Creates a private SysV segment (IPC_PRIVATE) and attaches it; `region.id` names it. */
export function createSysV(size: number, options?: CreateSysVOptions): MappedRegion {
  const length = checkSize('size', size);
  const mode = checkMode(checkOptions<CreateSysVOptions>(options, 'createSysV').mode ?? 0o600);
  const id = native.sysvCreate(length, mode);
  try {
    return attach(id, length);
  } catch (err) {
    native.sysvRemove(id);
    throw err;
  }
}

/** Attaches an existing segment by id, at its real size. */
export function openSysV(id: number): MappedRegion {
  const i = checkId(id);
  return attach(i, checkSize('segment size', native.sysvSize(i)));
}

/** Marks a segment for removal; it goes when the last process detaches. */
export function removeSysV(id: number): void {
  native.sysvRemove(checkId(id));
}
