/**
 * `node:diagnostics_channel` events, so APM tools can watch shmnet without
 * patching it. Messages are published only when a channel has subscribers.
 *
 * | channel | when | message |
 * |---|---|---|
 * | `shmnet:connect` | a control socket connected (client) or was accepted (server) | `{ role, conn }` |
 * | `shmnet:handshake` | the MapInfo exchange ended, well or badly | `{ role, conn, transport, durationMs, code }` (`code` is null on success) |
 * | `shmnet:fallback` | the Conn runs over the socket instead of shared memory | `{ role, conn, reason }` |
 * | `shmnet:close` | a Conn closed | `{ role, conn, transport, code, bytesRead, bytesWritten }` (`code` is the error's code, null for a clean close) |
 */
import diagnostics from 'node:diagnostics_channel';
import type { Conn } from './conn.js';

export const connectChannel = diagnostics.channel('shmnet:connect');
export const handshakeChannel = diagnostics.channel('shmnet:handshake');
export const fallbackChannel = diagnostics.channel('shmnet:fallback');
export const closeChannel = diagnostics.channel('shmnet:close');

export type Role = 'client' | 'server';

export function publishConnect(role: Role, conn: Conn): void {
  if (connectChannel.hasSubscribers) connectChannel.publish({ role, conn });
}

export function publishHandshake(role: Role, conn: Conn, transport: string | null, durationMs: number, code: string | null): void {
  if (handshakeChannel.hasSubscribers) handshakeChannel.publish({ role, conn, transport, durationMs, code });
}

export function publishFallback(role: Role, conn: Conn, reason: string): void {
  if (fallbackChannel.hasSubscribers) fallbackChannel.publish({ role, conn, reason });
}

export function publishClose(role: Role, conn: Conn, code: string | null): void {
  if (closeChannel.hasSubscribers) {
    closeChannel.publish({ role, conn, transport: conn.transport ?? null, code, bytesRead: conn.bytesRead, bytesWritten: conn.bytesWritten });
  }
}
