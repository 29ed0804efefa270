/** The SPSC byte ring and the region layout it lives in. */
export * from './layout.js';
export {
  checkCapacity,
  isValidCapacity,
  readHeader,
  regionSize,
  ringOffsets,
  validateHeader,
  writeHeader,
  type HeaderExpectation,
  type HeaderInit,
  type RegionHeader,
  type RingPlacement,
} from './header.js';
export { initRing, RingConsumer, RingProducer } from './ring.js';
export { initRegion, openEnds, type RegionEnd, type RegionEnds } from './region.js';
