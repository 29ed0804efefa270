/** File mapping: `mapFile`. */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { fromNodeError, invalidArg, outOfRange } from '../errors.js';
import * as native from '../native.js';
import { MappedRegion } from './region.js';
import { checkOptions, checkSize } from './validate.js';

export type FileMapMode = 'r' | 'rw' | 'cow';

export interface MapFileOptions {
  /** 'r' read-only, 'rw' writes reach the file, 'cow' writes stay private. */
  mode?: FileMapMode;
  /** Where the mapping starts in the file; need not be page aligned. */
  offset?: number;
  /** Bytes to map; defaults to the rest of the file. */
  length?: number;
  /** Pre-fault the pages (MAP_POPULATE); `region.populated` tells whether it applied. */
  populate?: boolean;
}


/**
 * Maps a window of a file. Mappings never reach past the file's current end
 * (that would be SIGBUS on access). Mode 'r' is mapped copy-on-write, so a
 * stray write through `region.bytes` stays in this process; the region's
 * write methods refuse with `SHMNET_ERR_READ_ONLY`.
 */
export function mapFile(path: string, options?: MapFileOptions): MappedRegion {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg('path must be a non-empty string');
  const o = checkOptions<MapFileOptions>(options, 'mapFile');
  const mode = o.mode ?? 'r';
  if (mode !== 'r' && mode !== 'rw' && mode !== 'cow') {
    throw invalidArg(`mode must be 'r', 'rw' or 'cow', got ${String(mode)}`);
  }
  const offset = o.offset === undefined ? 0 : checkSize('offset', o.offset, { allowZero: true });
  if (o.length !== undefined) checkSize('length', o.length);

  let fd: number;
  try {
    fd = openSync(path, mode === 'rw' ? 'r+' : 'r');
  } catch (err) {
    throw fromNodeError(err, path);
  }
  try {
    const fileSize = fstatSync(fd).size;
    if (offset >= fileSize) throw outOfRange(`offset ${offset} is at or past the end of ${path} (${fileSize} bytes)`);
    const length = o.length ?? checkSize('file size', fileSize - offset);
    if (length > fileSize - offset) {
      throw outOfRange(`offset ${offset} + length ${length} runs past the end of ${path} (${fileSize} bytes)`);
    }
    const aligned = offset - (offset % native.pageSize);
    const delta = offset - aligned;
    const prot = mode === 'rw' ? native.PROT_READ_WRITE : native.PROT_COPY_ON_WRITE;
    const mapped = native.mapFile(
      native.fdHandle(fd),
      aligned,
      delta + length,
      prot,
      o.populate === true ? native.MAP_POPULATE : 0,
    );
    const ownedFd = fd;
    return new MappedRegion({
      kind: 'file',
      buffer: mapped.buffer,
      byteOffset: delta,
      size: length,
      readOnly: mode === 'r',
      populated: mapped.populated,
      release: (buffer) => {
        try {
          native.unmap(buffer as ArrayBuffer);
        } finally {
          closeSync(ownedFd);
        }
      },
    });
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
