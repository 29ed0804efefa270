/**
 * The region header: where the rings are and which connection the region
 * belongs to. Written once by the creator before the handshake hands the
 * region to the peer (the control socket orders the two), so it is read
 * and written with plain DataView accesses, not Atomics.
 *
 * Everything read back is untrusted: the region may be stale, truncated or
 * written by a hostile process. `readHeader` checks every field against
 * the layout and against the buffer's real `byteLength`, and callers use
 * the offsets it returns only after that check.
 */
import { timingSafeEqual } from 'node:crypto';
import { invalidArg, outOfRange, ringCorrupt } from '../errors.js';
import {
  CAPACITY_OFFSET,
  CREATOR_PID_OFFSET,
  HEADER_SIZE,
  LAYOUT_VERSION,
  MAGIC_OFFSET,
  MAX_CAPACITY,
  MIN_CAPACITY,
  REGION_MAGIC,
  REGION_SIZE_OFFSET,
  RESERVED_OFFSET,
  RING0_START_OFFSET,
  RING1_START_OFFSET,
  RING_CONTROL_SIZE,
  TOKEN_LENGTH,
  TOKEN_OFFSET,
  VERSION_OFFSET,
} from './layout.js';

/** Where one ring lives inside a region. */
export interface RingPlacement {
  /** Byte offset of the ring's control block. */
  readonly controlOffset: number;
  /** Byte offset of the ring's data area. */
  readonly dataOffset: number;
  /** Size of the data area in bytes. */
  readonly capacity: number;
}

/** The fields of a region header, as read back from memory and checked. */
export interface RegionHeader {
  readonly version: number;
  /** Total region size in bytes. */
  readonly size: number;
  readonly capacity: number;
  /** Indexed by `RING_C2S` / `RING_S2C`. */
  readonly rings: readonly [RingPlacement, RingPlacement];
  readonly creatorPid: number;
  /** A copy of the 16-byte token. */
  readonly token: Uint8Array;
}

export interface HeaderInit {
  capacity: number;
  creatorPid: number;
  token: Uint8Array;
}

export interface HeaderExpectation {
  size: number;
  capacity: number;
  token: Uint8Array;
}

/**
 * The one capacity rule: a power of two in [MIN_CAPACITY, MAX_CAPACITY].
 * Everything that accepts a ring size (options, handshake messages, the
 * header read back from memory) asks this function.
 */
export function isValidCapacity(capacity: number): boolean {
  return (
    Number.isInteger(capacity) &&
    capacity >= MIN_CAPACITY &&
    capacity <= MAX_CAPACITY &&
    (capacity & (capacity - 1)) === 0
  );
}

/**
 * Throws unless `capacity` is a power of two in [MIN_CAPACITY, MAX_CAPACITY].
 * For caller-supplied values; values read from memory go through
 * `readHeader`, which reports them as corruption instead.
 */
export function checkCapacity(capacity: number, name = 'ring capacity'): void {
  if (typeof capacity !== 'number') throw invalidArg(`${name} must be a number, got ${typeof capacity}`);
  if (!isValidCapacity(capacity)) {
    throw outOfRange(`${name} must be a power of two in [${MIN_CAPACITY}, ${MAX_CAPACITY}], got ${capacity}`);
  }
}

/** Total size of a region whose two rings hold `capacity` bytes each. */
export function regionSize(capacity: number): number {
  checkCapacity(capacity);
  return HEADER_SIZE + 2 * (RING_CONTROL_SIZE + capacity);
}

/** Placement of the two rings of a region with the given capacity, indexed by `RING_C2S` / `RING_S2C`. */
export function ringOffsets(capacity: number): readonly [RingPlacement, RingPlacement] {
  checkCapacity(capacity);
  const ring0 = HEADER_SIZE;
  const ring1 = ring0 + RING_CONTROL_SIZE + capacity;
  return [
    { controlOffset: ring0, dataOffset: ring0 + RING_CONTROL_SIZE, capacity },
    { controlOffset: ring1, dataOffset: ring1 + RING_CONTROL_SIZE, capacity },
  ];
}

function checkBuffer(sab: unknown): asserts sab is ArrayBufferLike {
  if (!(sab instanceof SharedArrayBuffer) && !(sab instanceof ArrayBuffer)) {
    throw invalidArg('region must be a SharedArrayBuffer or ArrayBuffer');
  }
}

/**
 * Writes the header of a new region. Zeroes the whole header page first;
 * does not touch the rings (see `initRing`).
 */
export function writeHeader(sab: ArrayBufferLike, init: HeaderInit): void {
  checkBuffer(sab);
  const size = regionSize(init.capacity);
  if (sab.byteLength < size) {
    throw outOfRange(`region of ${sab.byteLength} bytes is too small for capacity ${init.capacity} (needs ${size})`);
  }
  const pid = init.creatorPid;
  if (!Number.isInteger(pid) || pid < 0 || pid > 0xffffffff) {
    throw outOfRange(`creatorPid must be an unsigned 32-bit integer, got ${pid}`);
  }
  const token = init.token;
  if (!(token instanceof Uint8Array) || token.length !== TOKEN_LENGTH) {
    throw invalidArg(`token must be a Uint8Array of ${TOKEN_LENGTH} bytes`);
  }
  const [ring0, ring1] = ringOffsets(init.capacity);
  new Uint8Array(sab, 0, HEADER_SIZE).fill(0);
  const view = new DataView(sab, 0, HEADER_SIZE);
  view.setUint32(VERSION_OFFSET, LAYOUT_VERSION, true);
  view.setUint32(REGION_SIZE_OFFSET, size, true);
  view.setUint32(CAPACITY_OFFSET, init.capacity, true);
  view.setUint32(RING0_START_OFFSET, ring0.controlOffset, true);
  view.setUint32(RING1_START_OFFSET, ring1.controlOffset, true);
  view.setUint32(CREATOR_PID_OFFSET, pid, true);
  view.setUint32(RESERVED_OFFSET, 0, true);
  new Uint8Array(sab, TOKEN_OFFSET, TOKEN_LENGTH).set(token);
  // Magic last: a header with a valid magic is a complete header.
  view.setUint32(MAGIC_OFFSET, REGION_MAGIC, true);
}

const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * Reads and checks a region header. Throws `SHMNET_ERR_RING_CORRUPT`
 * naming the bad value when a field is impossible or disagrees with the
 * layout or with `sab.byteLength`.
 */
export function readHeader(sab: ArrayBufferLike): RegionHeader {
  checkBuffer(sab);
  if (sab.byteLength < HEADER_SIZE) {
    throw ringCorrupt(`region of ${sab.byteLength} bytes is smaller than its ${HEADER_SIZE}-byte header`);
  }
  const view = new DataView(sab, 0, HEADER_SIZE);
  const magic = view.getUint32(MAGIC_OFFSET, true);
  if (magic !== REGION_MAGIC) throw ringCorrupt(`bad magic ${hex(magic)} (expected ${hex(REGION_MAGIC)})`);
  const version = view.getUint32(VERSION_OFFSET, true);
  if (version !== LAYOUT_VERSION) throw ringCorrupt(`unsupported layout version ${version} (expected ${LAYOUT_VERSION})`);
  const capacity = view.getUint32(CAPACITY_OFFSET, true);
  if (!isValidCapacity(capacity)) {
    throw ringCorrupt(`ring capacity ${capacity} is not a power of two in [${MIN_CAPACITY}, ${MAX_CAPACITY}]`);
  }
  const size = view.getUint32(REGION_SIZE_OFFSET, true);
  const wantSize = regionSize(capacity);
  if (size !== wantSize) throw ringCorrupt(`region size ${size} does not match capacity ${capacity} (expected ${wantSize})`);
  if (size > sab.byteLength) {
    throw ringCorrupt(`header claims region size ${size} but the mapping holds ${sab.byteLength} bytes`);
  }
  const rings = ringOffsets(capacity);
  const start0 = view.getUint32(RING0_START_OFFSET, true);
  if (start0 !== rings[0].controlOffset) {
    throw ringCorrupt(`ring 0 offset ${start0} (expected ${rings[0].controlOffset})`);
  }
  const start1 = view.getUint32(RING1_START_OFFSET, true);
  if (start1 !== rings[1].controlOffset) {
    throw ringCorrupt(`ring 1 offset ${start1} (expected ${rings[1].controlOffset})`);
  }
  const creatorPid = view.getUint32(CREATOR_PID_OFFSET, true);
  const token = new Uint8Array(TOKEN_LENGTH);
  token.set(new Uint8Array(sab, TOKEN_OFFSET, TOKEN_LENGTH));
  return { version, size, capacity, rings, creatorPid, token };
}

/**
 * Reads the header (as `readHeader`) and checks it describes the region
 * the handshake promised: same size, capacity and token.
 */
export function validateHeader(sab: ArrayBufferLike, expected: HeaderExpectation): RegionHeader {
  if (!(expected.token instanceof Uint8Array) || expected.token.length !== TOKEN_LENGTH) {
    throw invalidArg(`expected token must be a Uint8Array of ${TOKEN_LENGTH} bytes`);
  }
  const header = readHeader(sab);
  if (header.size !== expected.size) {
    throw ringCorrupt(`region size ${header.size} (expected ${expected.size})`);
  }
  if (header.capacity !== expected.capacity) {
    throw ringCorrupt(`ring capacity ${header.capacity} (expected ${expected.capacity})`);
  }
  if (!timingSafeEqual(header.token, expected.token)) {
    // The token is a credential: name the field, never print its bytes.
    throw ringCorrupt('region token does not match the one sent in the handshake');
  }
  return header;
}
