/**
 * What both ends do once the MapInfo exchange has chosen a transport: give
 * the Conn its engine (the rings with the control socket as doorbell, or
 * the socket itself), report it, and emit 'connect'/'ready'. One function
 * for the server and the client, so the two cannot drift apart.
 */
import type { Socket } from 'node:net';
import type { HandshakeOutcome } from '../handshake/outcome.js';
import type { Conn } from '../stream/conn.js';
import { publishFallback, publishHandshake } from '../stream/diagnostics.js';
import { createShmEngine } from './shm-engine.js';
import { SocketEngine } from './socket-engine.js';

/**
 * Attaches the engine `outcome` calls for. False (and the outcome's region
 * and the socket released) when the Conn was destroyed during the exchange.
 */
export function wireOutcome(conn: Conn, socket: Socket, outcome: HandshakeOutcome, spin: number): boolean {
  conn.handshakeMs = outcome.handshakeMs;
  conn.peer = outcome.peer;
  publishHandshake(conn.role, conn, outcome.kind, outcome.handshakeMs, null);
  if (conn.destroyed) {
    if (outcome.kind === 'shm') outcome.region.close();
    socket.destroy();
    return false;
  }
  if (outcome.kind === 'shm') {
    const { region, capacity, rest, segment } = outcome;
    conn._attach(createShmEngine({ conn, socket, region, capacity, role: conn.role, spin, rest, segment }));
  } else {
    conn._attach(new SocketEngine(conn, socket, outcome.rest));
    publishFallback(conn.role, conn, outcome.reason);
  }
  conn.emit('connect');
  conn.emit('ready');
  return true;
}
