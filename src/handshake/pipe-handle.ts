/**
 * The one place that touches Node's private socket fields. Passing a
 * descriptor needs the Unix socket's fd and control over libuv's reading,
 * which `net.Socket` does not expose; everything else goes through the
 * public API.
 *
 * What it relies on, as in Node's lib/net.js on the 20, 22, 24 and 26 lines
 * (test/handshake/pipe-handle.test.ts checks it on the running Node):
 * - `socket._handle` is the libuv handle, a `Pipe` (constructor name) for a
 *   Unix socket, `null` once the socket is destroyed;
 * - the handle has `fd` (a number, -1 where there is none), `readStop()` and
 *   `readStart()`;
 * - `handle.reading` is the flag `Socket._read()` checks before it calls
 *   `tryReadStart()`: while it is true the stream does not restart libuv.
 *
 * If a Node release changes any of this, `pipeHandle()` answers null and the
 * handshake uses a named segment instead of a descriptor.
 */
import type { Socket } from 'node:net';

/** The parts of libuv's Pipe handle used here. */
interface PipeHandle {
  fd?: number;
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
  constructor: { name: string };
}

/** The Unix socket's handle, or null (not a Unix socket, destroyed, or fields not as expected). */
function pipeHandle(socket: Socket): PipeHandle | null {
  const h = (socket as unknown as { _handle?: PipeHandle | null })._handle;
  if (!h || h.constructor?.name !== 'Pipe' || typeof h.fd !== 'number' || h.fd < 0) return null;
  return h;
}

/** The descriptor of a live Unix socket, or -1. */
export function pipeFd(socket: Socket): number {
  const h = pipeHandle(socket);
  return h === null ? -1 : h.fd!;
}

/**
 * Stops libuv reading the socket and keeps the stream from restarting it
 * (a read(0) already scheduled by the stream would otherwise do so).
 * Returns false if the socket has no Unix-socket handle.
 */
export function holdReading(socket: Socket): boolean {
  const h = pipeHandle(socket);
  if (h === null) return false;
  h.readStop?.();
  h.reading = true;
  return true;
}

/**
 * Undoes holdReading(): libuv reads again (as net's tryReadStart does). A
 * read the stream asked for meanwhile is still pending, so it must be libuv
 * that restarts, not the stream.
 */
export function releaseReading(socket: Socket): void {
  const h = pipeHandle(socket);
  if (h === null) return;
  h.reading = true;
  h.readStart?.();
}
