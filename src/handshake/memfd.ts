/**
 * Nameless segments (Linux, control socket is a Unix socket): the region
 * is a sealed memfd handed to the client with SCM_RIGHTS, so no /dev/shm
 * name ever exists, a crash can leak nothing, and the size seals stop a
 * peer from shrinking the file under the other side (SIGBUS).
 *
 * Node cannot send descriptors on its own sockets, so the exchange is:
 *
 *   server → MAPINFO { fd: true }
 *   client   stops libuv reading the socket, → FDREADY
 *   server → one byte carrying the descriptor (native sendmsg)
 *   client   receives it with a non-blocking recvmsg (native), maps, checks, → ACK
 *
 * The client stops reading before it asks, so libuv can never swallow the
 * byte that carries the descriptor (a plain read() would close it).
 */
import type { Socket } from 'node:net';
import { codes, ShmnetError } from '../errors.js';
import type { MappedRegion } from '../mapping/region.js';
import { sharedRegion } from '../mapping/shared-memory.js';
import * as native from '../native.js';
import { regionSize } from '../ring/header.js';
import { initRegion } from '../ring/region.js';
import { holdReading, pipeFd, releaseReading } from './pipe-handle.js';

/** Whether this control socket can carry a descriptor (Linux, Unix socket). */
export function canPassFd(socket: Socket): boolean {
  return native.platform === 'linux' && process.env.SHMNET_NO_MEMFD === undefined && pipeFd(socket) >= 0;
}

/** Creates a sealed memfd of `size` bytes and maps it. */
export function createMemfdRegion(size: number): { region: MappedRegion; handle: number } {
  const { handle } = native.memfdCreate('shmnet', size);
  try {
    return { region: sharedRegion('shm', native.mapShared(handle, 0, size, native.PROT_READ_WRITE, 0), size), handle };
  } catch (err) {
    native.handleClose(handle);
    throw err;
  }
}

/** Sends the region's descriptor over the control socket. */
export function sendRegionFd(socket: Socket, handle: number): void {
  const fd = pipeFd(socket);
  if (fd < 0) throw new ShmnetError(codes.HANDSHAKE, 'the control socket cannot carry a descriptor');
  native.sendFd(fd, handle);
}

/** Stops libuv from reading the socket, so the descriptor byte is left for recvmsg. */
export function stopReading(socket: Socket): void {
  if (pipeFd(socket) < 0) throw new ShmnetError(codes.HANDSHAKE, 'the control socket cannot carry a descriptor');
  socket.pause();
  holdReading(socket);
}

/** Undoes stopReading(). */
export function restoreReading(socket: Socket): void {
  if (!socket.destroyed) releaseReading(socket);
}

/** Polls (non-blocking) for the descriptor byte; `done` gets the fd or an error. Returns a canceller. */
export function receiveRegionFd(socket: Socket, done: (err: Error | null, fd?: number) => void): () => void {
  let cancelled = false;
  let timer: NodeJS.Immediate | NodeJS.Timeout | null = null;
  let tries = 0;
  const poll = () => {
    timer = null;
    if (cancelled) return;
    const sfd = pipeFd(socket);
    if (sfd < 0) return done(new ShmnetError(codes.PEER_GONE, 'the control socket closed before the descriptor arrived'));
    let fd: number | null;
    try {
      fd = native.recvFd(sfd);
    } catch (err) {
      return done(new ShmnetError(codes.HANDSHAKE, `receiving the region descriptor failed: ${(err as Error).message}`, { cause: err }));
    }
    if (fd !== null) return done(null, fd);
    // The server answers within a round trip: poll on the next turns, then back off (the handshake timeout bounds it).
    tries++;
    timer = tries < 50 ? setImmediate(poll) : setTimeout(poll, 1);
  };
  poll();
  return () => {
    cancelled = true;
    if (timer !== null) {
      clearImmediate(timer as NodeJS.Immediate);
      clearTimeout(timer as NodeJS.Timeout);
    }
  };
}

/** Closes a received descriptor nobody will use. */
export function closeRegionFd(fd: number): void {
  native.handleClose(fd);
}

/** Maps a received descriptor after checking its size and seals; closes it. */
export function mapRegionFd(fd: number, size: number): MappedRegion {
  try {
    const real = native.handleSize(fd);
    if (real !== size) throw new ShmnetError(codes.HANDSHAKE, `the region descriptor holds ${real} bytes, MAPINFO said ${size}`);
    const seals = native.memfdSeals(fd);
    if ((seals & (native.F_SEAL_SHRINK | native.F_SEAL_GROW)) !== (native.F_SEAL_SHRINK | native.F_SEAL_GROW)) {
      throw new ShmnetError(codes.HANDSHAKE, 'the region descriptor is not sealed against resizing');
    }
    return sharedRegion('shm', native.mapShared(fd, 0, size, native.PROT_READ_WRITE, 0), size);
  } finally {
    native.handleClose(fd);
  }
}

/**
 * A nameless segment: a sealed memfd with its header and rings initialised,
 * and the descriptor to send until it has been sent (see segment.ts for the
 * named kind).
 */
export interface MemfdSegment {
  region: MappedRegion;
  capacity: number;
  token: Uint8Array;
  /** The memfd's descriptor, -1 once sent and closed. */
  handle: number;
}

/** Creates a memfd segment for rings of `capacity` bytes. */
export function createMemfdSegment(capacity: number): MemfdSegment {
  const { region, handle } = createMemfdRegion(regionSize(capacity));
  try {
    const token = initRegion(region.buffer, capacity);
    return { region, handle, capacity, token };
  } catch (err) {
    native.handleClose(handle);
    region.close();
    throw err;
  }
}

/** Closes the segment's descriptor if it has not been sent yet. */
export function closeMemfdHandle(s: MemfdSegment): void {
  if (s.handle < 0) return;
  const h = s.handle;
  s.handle = -1;
  native.handleClose(h);
}
