/**
 * What a finished MapInfo exchange hands to the connection layer, on
 * either side: the region and its rings, or the socket as the byte stream.
 */
import type { MappedRegion } from '../mapping/region.js';
import type { HelloMessage } from './messages.js';
import type { PeerCredentials } from './peer-cred.js';

export interface ShmOutcome {
  kind: 'shm';
  region: MappedRegion;
  capacity: number;
  /** Bytes that followed the last frame (doorbells already rung). */
  rest: Buffer;
  hello?: HelloMessage;
  handshakeMs: number;
  /** 'memfd' when the region never had a name. */
  segment: 'named' | 'memfd';
  /** The kernel's record of the peer (Unix sockets), else null. */
  peer: PeerCredentials | null;
}

export interface SocketOutcome {
  kind: 'tcp';
  rest: Buffer;
  reason: string;
  hello: HelloMessage | undefined;
  handshakeMs: number;
  /** The kernel's record of the peer (Unix sockets), else null. */
  peer: PeerCredentials | null;
}

export type HandshakeOutcome = ShmOutcome | SocketOutcome;
