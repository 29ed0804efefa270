/**
 * The client's half of the Memory Map Service exchange: send HELLO, then
 * map what MAPINFO names, check magic, version, size and token, and ACK;
 * or accept FALLBACK; or fail on REJECT. The region is used only after
 * every check passed.
 */
import type { Socket } from 'node:net';
import { codes, ShmnetError } from '../errors.js';
import type { MappedRegion } from '../mapping/region.js';
import { openShm } from '../mapping/shm.js';
import { regionSize, validateHeader } from '../ring/header.js';
import { Exchange, peerCode } from './exchange.js';
import { hostId } from './host-id.js';
import { encodeMessage, parseServerReply, PROTOCOL_VERSION, type MapInfoMessage, type TransportChoice } from './messages.js';
import { segmentCreator } from './segment.js';
import type { HandshakeOutcome } from './outcome.js';
import { peerCredentials } from './peer-cred.js';
import { canPassFd, closeRegionFd, mapRegionFd, restoreReading, receiveRegionFd, stopReading } from './memfd.js';

export interface ClientHandshakeOptions {
  transport: TransportChoice;
  /** Preferred ring size; 0 leaves it to the server. */
  ringSize: number;
  handshakeTimeout: number;
  maxFrameSize: number;
}

class ClientExchange extends Exchange<HandshakeOutcome> {
  #state: 'reply' | 'fd' | 'fallback' = 'reply';
  /** Stops polling for the region descriptor. */
  #cancelFd: (() => void) | null = null;
  readonly #started = performance.now();

  constructor(socket: Socket, private readonly opts: ClientHandshakeOptions) {
    super(socket, opts.handshakeTimeout, opts.maxFrameSize);
  }

  protected override start(): void {
    this.send(
      encodeMessage({
        type: 'hello',
        version: PROTOCOL_VERSION,
        hostId: hostId(),
        pid: process.pid,
        // the effective uid: the one that owns and may open shared-memory objects
        uid: typeof process.geteuid === 'function' ? process.geteuid() : -1,
        ringSize: this.opts.ringSize,
        transport: this.opts.transport,
        fdPassing: canPassFd(this.socket),
      }),
    );
  }

  protected step(frame: unknown): void {
    const reply = parseServerReply(frame);
    if (reply.type === 'reject') {
      throw new ShmnetError(peerCode(reply.code), `the server refused: ${reply.message}`);
    }
    if (reply.type === 'fallback') {
      if (this.opts.transport === 'shm') {
        throw new ShmnetError(codes.UNSUPPORTED, `the server offered only the socket (${reply.reason}) and transport is 'shm'`);
      }
      this.finish({ kind: 'tcp', rest: this.reader.takeRest(), reason: reply.reason, hello: undefined, handshakeMs: this.#ms(), peer: peerCredentials(this.socket) });
      return;
    }
    if (this.#state !== 'reply') throw new ShmnetError(codes.HANDSHAKE, 'a second MAPINFO');
    if (reply.fd) return this.#askForFd(reply);
    let region: MappedRegion;
    try {
      region = this.#map(reply);
    } catch (err) {
      return this.#cannotMap(err as ShmnetError);
    }
    this.#accept(reply, region, 'named');
  }

  /** MAPINFO said the region comes as a descriptor: stop reading, ask, receive. */
  #askForFd(info: MapInfoMessage): void {
    const expected = regionSize(info.ringSize);
    if (info.size !== expected || !canPassFd(this.socket)) {
      return this.#cannotMap(new ShmnetError(codes.HANDSHAKE, info.size !== expected ? `MAPINFO size ${info.size} does not match ring size ${info.ringSize}` : 'this socket cannot receive a descriptor'));
    }
    stopReading(this.socket);
    this.send(encodeMessage({ type: 'fdready', version: PROTOCOL_VERSION }));
    this.#state = 'fd';
    this.#cancelFd = receiveRegionFd(this.socket, (err, fd) => {
      this.#cancelFd = null;
      restoreReading(this.socket);
      if (this.settled) {
        if (fd !== undefined) closeRegionFd(fd);
        return;
      }
      if (err) return this.fail(err);
      let region: MappedRegion;
      try {
        region = mapRegionFd(fd!, info.size);
        try {
          validateHeader(region.buffer, { size: info.size, capacity: info.ringSize, token: info.token });
        } catch (e) {
          region.close();
          throw e;
        }
      } catch (e) {
        try {
          this.#cannotMap(e as ShmnetError);
          // Waiting for FALLBACK now: read the socket again.
          if (!this.settled) this.socket.resume();
        } catch (fatal) {
          this.fail(fatal as Error);
        }
        return;
      }
      this.#accept(info, region, 'memfd');
    });
  }

  #accept(info: MapInfoMessage, region: MappedRegion, segment: 'named' | 'memfd'): void {
    this.send(encodeMessage({ type: 'ack', version: PROTOCOL_VERSION, token: info.token }));
    this.finish({ kind: 'shm', region, capacity: info.ringSize, rest: this.reader.takeRest(), handshakeMs: this.#ms(), segment, peer: peerCredentials(this.socket) });
  }

  /** The region could not be used: NACK (and wait for FALLBACK) or, with transport 'shm', REJECT and fail. */
  #cannotMap(e: ShmnetError): void {
    if (this.opts.transport === 'shm') {
      this.send(encodeMessage({ type: 'reject', version: PROTOCOL_VERSION, code: e.code ?? codes.HANDSHAKE, message: e.message.slice(0, 1000) }));
      throw e;
    }
    this.send(encodeMessage({ type: 'nack', version: PROTOCOL_VERSION, reason: String(e.message).slice(0, 250) }));
    this.#state = 'fallback';
  }

  protected override cleanup(): void {
    if (this.#cancelFd !== null) restoreReading(this.socket);
    this.#cancelFd?.();
    this.#cancelFd = null;
  }

  protected override discard(outcome: HandshakeOutcome): void {
    if (outcome.kind === 'shm') outcome.region.close();
  }

  #ms(): number {
    return performance.now() - this.#started;
  }

  /** Maps and checks the region; nothing in it is trusted before this returns. */
  #map(info: MapInfoMessage): MappedRegion {
    // Only ever open what a shmnet server creates: a hostile server must not
    // point us at another program's shared memory.
    if (segmentCreator(info.name) !== info.serverPid) {
      throw new ShmnetError(codes.HANDSHAKE, `MAPINFO names ${JSON.stringify(info.name)}, not a segment of server pid ${info.serverPid}`);
    }
    const expected = regionSize(info.ringSize);
    if (info.size !== expected) {
      throw new ShmnetError(codes.HANDSHAKE, `MAPINFO size ${info.size} does not match ring size ${info.ringSize} (expected ${expected})`);
    }
    const region = openShm(info.name, { size: info.size });
    try {
      validateHeader(region.buffer, { size: info.size, capacity: info.ringSize, token: info.token });
      return region;
    } catch (err) {
      region.close();
      throw err;
    }
  }
}

/** Runs the client's half on a connected socket. */
export function clientHandshake(socket: Socket, opts: ClientHandshakeOptions): Promise<HandshakeOutcome> {
  return new ClientExchange(socket, opts).run();
}
