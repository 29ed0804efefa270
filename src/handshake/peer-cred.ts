/**
 * Who is at the other end of a Unix-socket control channel, as the kernel
 * recorded it when the socket connected (SO_PEERCRED on Linux, getpeereid
 * on macOS). Unlike the uid a peer writes in HELLO, this cannot be lied
 * about. TCP and named pipes carry no credentials: null.
 */
import type { Socket } from 'node:net';
import * as native from '../native.js';
import { pipeFd } from './pipe-handle.js';

export type { PeerCredentials } from '../native.js';

export function peerCredentials(socket: Socket): native.PeerCredentials | null {
  if (native.platform === 'win32') return null;
  const fd = pipeFd(socket);
  if (fd < 0) return null;
  try {
    return native.peerCred(fd);
  } catch {
    // A peer gone already (the kernel still answers then) or an exotic platform: no credentials.
    return null;
  }
}
