/**
 * A region: the header page and the two rings behind it (layout.ts). This
 * file is the one owner of both things a region's users need:
 *
 *   - `initRegion()` builds one in memory the creator just allocated, in
 *     the one safe order: both rings' control blocks first, then the
 *     header, whose magic is stored last (header.ts), so a region with a
 *     valid magic is a complete region;
 *   - `openEnds()` opens the two ring ends one side of a connection owns:
 *     the client (a channel's `port1`) writes ring C2S and reads S2C, the
 *     server (`port2`) the reverse.
 *
 * Named segments, memfd segments and worker channels all go through here.
 */
import { randomBytes } from 'node:crypto';
import { writeHeader, ringOffsets } from './header.js';
import { RING_C2S, RING_S2C, TOKEN_LENGTH } from './layout.js';
import { initRing, RingConsumer, RingProducer } from './ring.js';

/** Which end of a region a side owns. */
export type RegionEnd = 'client' | 'server';

/** The two ring handles one side of a region owns. */
export interface RegionEnds {
  /** The ring this side writes. */
  readonly tx: RingProducer;
  /** The ring this side reads. */
  readonly rx: RingConsumer;
}

/**
 * Initialises a fresh region for rings of `capacity` bytes each in `sab`
 * (at least `regionSize(capacity)` bytes) and returns the random token
 * written into its header. Call once, before the region is handed to
 * anyone else.
 */
export function initRegion(sab: ArrayBufferLike, capacity: number): Uint8Array {
  const token = new Uint8Array(randomBytes(TOKEN_LENGTH));
  for (const ring of ringOffsets(capacity)) initRing(sab, ring.controlOffset);
  // Magic last (writeHeader stores it after every other field).
  writeHeader(sab, { capacity, creatorPid: process.pid, token });
  return token;
}

/**
 * Opens the ends `end` owns in a region whose header was checked to hold
 * rings of `capacity` bytes. Throws `SHMNET_ERR_RING_CORRUPT` if the peer
 * already left impossible counters in them.
 */
export function openEnds(sab: ArrayBufferLike, capacity: number, end: RegionEnd): RegionEnds {
  const rings = ringOffsets(capacity);
  const txRing = rings[end === 'client' ? RING_C2S : RING_S2C];
  const rxRing = rings[end === 'client' ? RING_S2C : RING_C2S];
  return {
    tx: new RingProducer(sab, txRing.controlOffset, txRing.dataOffset, txRing.capacity),
    rx: new RingConsumer(sab, rxRing.controlOffset, rxRing.dataOffset, rxRing.capacity),
  };
}
