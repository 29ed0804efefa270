/** Anonymous shared memory: `mapAnonymous`. */
import * as native from '../native.js';
import type { MappedRegion } from './region.js';
import { sharedRegion } from './shared-memory.js';
import { checkOptions, checkSize, mapFlags, type MapHints } from './validate.js';

/**
 * `hugePages`: MAP_HUGETLB when huge pages are reserved (vm.nr_hugepages,
 * SEC_LARGE_PAGES on Windows), else transparent huge pages; `populate`:
 * MAP_POPULATE (allocates every page now). Both are reported on the region.
 */
export interface MapAnonymousOptions extends MapHints {}

/** Maps `size` bytes of zeroed anonymous memory, as a SharedArrayBuffer. */
export function mapAnonymous(size: number, options?: MapAnonymousOptions): MappedRegion {
  const length = checkSize('size', size);
  const o = checkOptions<MapAnonymousOptions>(options, 'mapAnonymous');
  return sharedRegion('anonymous', native.mapAnonymous(length, mapFlags(o)), length);
}
