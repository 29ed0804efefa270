export { Conn } from '../stream/conn.js';
export type { Transport } from '../stream/engine.js';
export type { ConnStats } from '../stream/conn.js';
export { Server, createServer } from './server.js';
export type { ServerOptions, ConnectionListener, ServerStats } from './server.js';
export { connect, createConnection } from './connect.js';
export type { ConnectOptions } from './connect.js';
export type { TransportOptions, ServerTransportOptions, TransportChoice } from './options.js';
export { DEFAULT_RING_SIZE, DEFAULT_SPIN_US, DEFAULT_HANDSHAKE_TIMEOUT } from './options.js';
