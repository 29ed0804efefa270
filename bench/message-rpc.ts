/**
 * MessageConn request/response: the peer process echoes every message it
 * receives (over shared memory, and over the TCP fallback); the bench
 * sends one 64-byte object and waits for it to come back. It is the
 * counterpart of zeromq's req/rep (zeromq.ts) for a user who wants
 * request/response between two processes.
 */
import { once } from 'node:events';
import { connect, createServer, MessageConn, type Conn, type Server } from '../src/index.js';
import { InFlight, type Exchanger } from './latency.js';
import { MESSAGE_FIRST_ID, message64, type MessageTransport } from './message.js';
import type { Peer } from './peer-client.js';
import { closeStream } from './transports.js';

// ---- peer side ----------------------------------------------------------------

/** Every message that arrives on a connection of `server` goes back on it. */
export function echoMessages(server: Server): void {
  server.on('connection', (conn: Conn) => {
    const mc = new MessageConn(conn);
    mc.on('message', (m: unknown) => mc.send(m));
    mc.on('end', () => mc.end());
    mc.on('error', () => {});
  });
}

// ---- bench side ---------------------------------------------------------------

/** One 64-byte object to the peer's message echo over `transport`, and back. */
export async function messageExchanger(peer: Peer, transport: MessageTransport): Promise<Exchanger> {
  const port = transport === 'shm' ? peer.addresses.messageShmPort : peer.addresses.messageTcpPort;
  const conn = connect({ port, host: '127.0.0.1', transport });
  await once(conn, 'connect');
  if (conn.transport !== transport) {
    conn.destroy();
    throw new Error(`MessageConn asked for '${transport}' but got '${conn.transport}'`);
  }
  return exchangerOver(new MessageConn(conn), `MessageConn ${transport}`);
}

/** Request/response on any MessageConn whose far end echoes (also used over worker channels). */
export function exchangerOver(mc: MessageConn, what: string): Exchanger {
  const msg = message64(MESSAGE_FIRST_ID);
  const flight = new InFlight();
  const settle = flight.settle;
  mc.on('message', (m: { id: number }) => settle(m.id === msg.id ? undefined : new Error(`${what}: reply ${m.id} to request ${msg.id}`)));
  mc.on('error', settle);
  return {
    exchange(done) {
      flight.start(done);
      msg.id++;
      mc.send(msg);
    },
    close: () => closeStream(mc.conn, () => mc.end()),
  };
}

/** The peer's two message echo servers (shm and the TCP fallback), listening on 127.0.0.1. */
export function messageEchoServers(): { shm: Server; tcp: Server } {
  const shm = createServer();
  const tcp = createServer({ transport: 'tcp' });
  echoMessages(shm);
  echoMessages(tcp);
  return { shm, tcp };
}
