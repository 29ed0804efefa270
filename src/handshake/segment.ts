/**
 * The shared-memory segment behind one connection: its name, its creation
 * with the region header and both rings initialised, and the clean-up
 * rules.
 *
 * Names are unguessable and short enough for macOS (≤ 30 characters):
 * `/shmnet.<creator pid, base 36>.<16 random base-32 characters>`. The pid
 * lets a start-up sweep remove names whose creator died (see
 * `sweepStale`). The server unlinks a name as soon as the client
 * acknowledges it (or the handshake fails), so a live connection has no
 * name at all.
 *
 * Names this process created and has not unlinked yet are also removed
 * when the process exits normally (`process.exit()`, an uncaught
 * exception, the event loop running dry); a process killed by a signal
 * leaves them to the sweep.
 */
import { randomBytes } from 'node:crypto';
import type { MappedRegion } from '../mapping/region.js';
import { openShm, unlinkShm } from '../mapping/shm.js';
import { regionSize } from '../ring/header.js';
import { initRegion } from '../ring/region.js';

export const SEGMENT_PREFIX = 'shmnet.';
const NAME_RE = /^\/?shmnet\.([0-9a-z]{1,7})\.([0-9a-v]{16})$/;
const BASE32 = '0123456789abcdefghijklmnopqrstuv';

export function segmentName(pid = process.pid): string {
  const r = randomBytes(16);
  let s = '';
  for (let i = 0; i < 16; i++) s += BASE32[r[i]! & 31];
  return `/${SEGMENT_PREFIX}${pid.toString(36)}.${s}`;
}

/** The creator pid encoded in a segment name, or undefined for other names. */
export function segmentCreator(name: string): number | undefined {
  const m = NAME_RE.exec(name);
  return m ? parseInt(m[1]!, 36) : undefined;
}

export interface Segment {
  name: string;
  region: MappedRegion;
  capacity: number;
  token: Uint8Array;
}

/** Names created here and not unlinked yet. */
const liveNames = new Set<string>();
let exitHook = false;

function unlinkLiveNames(): void {
  for (const name of liveNames) unlinkQuietly(name);
}

/** Names this process created and has not unlinked yet (a handshake is waiting for ACK). */
export function pendingSegmentNames(): string[] {
  return [...liveNames];
}

/** Creates, reserves and initialises a region for rings of `capacity` bytes. */
export function createSegment(capacity: number): Segment {
  const name = segmentName();
  const size = regionSize(capacity);
  const region = openShm(name, { size, create: true, exclusive: true, mode: 0o600 });
  liveNames.add(name);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', unlinkLiveNames);
  }
  try {
    const token = initRegion(region.buffer, capacity);
    return { name, region, capacity, token };
  } catch (err) {
    unlinkQuietly(name);
    region.close();
    throw err;
  }
}

/** Unlinks a name, ignoring "already gone". */
export function unlinkQuietly(name: string): void {
  liveNames.delete(name);
  try {
    unlinkShm(name);
  } catch {
    // already unlinked
  }
}
