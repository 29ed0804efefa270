/**
 * shmnet: node:net-style connections between processes on one host,
 * carried over shared-memory rings. This file is the public API only.
 */
export * from './mapping/index.js';
export { codes, ShmnetError, ShmnetTypeError, ShmnetRangeError, isShmnetError } from './errors.js';
export type { ShmnetErrorCode } from './errors.js';
export * from './net/index.js';
export { hostId } from './handshake/host-id.js';
export { sweepStale } from './handshake/sweep.js';
export * from './message/index.js';
export * from './channel/index.js';
