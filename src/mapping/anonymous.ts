/** Anonymous shared memory: `mapAnonymous`. */
import * as native from '../native.js';
import { MappedRegion } from './region.js';
import { checkOptions, checkSize } from './validate.js';

export interface MapAnonymousOptions {
  /** Ask for huge pages (MAP_HUGETLB); `region.huge` tells whether they were used. */
  hugePages?: boolean;
}

/** Maps `size` bytes of zeroed anonymous memory, as a SharedArrayBuffer. */
export function mapAnonymous(size: number, options?: MapAnonymousOptions): MappedRegion {
  const length = checkSize('size', size);
  const o = checkOptions<MapAnonymousOptions>(options, 'mapAnonymous');
  const mapped = native.mapAnonymous(length, o.hugePages === true ? native.MAP_HUGETLB : 0);
  return new MappedRegion({
    kind: 'anonymous',
    buffer: mapped.buffer,
    byteOffset: 0,
    size: length,
    readOnly: false,
    huge: mapped.huge,
    release: () => {},
  });
}
