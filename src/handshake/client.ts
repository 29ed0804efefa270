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
import { encodeMessage, parseServerReply, PROTOCOL_VERSION, type MapInfoMessage } from './messages.js';
import type { HandshakeOutcome } from './server.js';

export interface ClientHandshakeOptions {
  transport: 'auto' | 'shm' | 'tcp';
  /** Preferred ring size; 0 leaves it to the server. */
  ringSize: number;
  handshakeTimeout: number;
  maxFrameSize: number;
}

class ClientExchange extends Exchange<HandshakeOutcome> {
  #state: 'reply' | 'fallback' = 'reply';
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
        uid: typeof process.getuid === 'function' ? process.getuid() : -1,
        ringSize: this.opts.ringSize,
        transport: this.opts.transport,
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
      this.finish({ kind: 'tcp', rest: this.reader.takeRest(), reason: reply.reason, hello: undefined, handshakeMs: this.#ms() });
      return;
    }
    if (this.#state !== 'reply') throw new ShmnetError(codes.HANDSHAKE, 'a second MAPINFO');
    let region: MappedRegion | null = null;
    try {
      region = this.#map(reply);
    } catch (err) {
      const e = err as ShmnetError;
      if (this.opts.transport === 'shm') {
        this.send(encodeMessage({ type: 'reject', version: PROTOCOL_VERSION, code: e.code ?? codes.HANDSHAKE, message: e.message.slice(0, 1000) }));
        throw e;
      }
      this.send(encodeMessage({ type: 'nack', version: PROTOCOL_VERSION, reason: String(e.message).slice(0, 250) }));
      this.#state = 'fallback';
      return;
    }
    this.send(encodeMessage({ type: 'ack', version: PROTOCOL_VERSION, token: reply.token }));
    this.finish({ kind: 'shm', region, capacity: reply.ringSize, rest: this.reader.takeRest(), hello: undefined as never, handshakeMs: this.#ms() });
  }

  #ms(): number {
    return performance.now() - this.#started;
  }

  /** Maps and checks the region; nothing in it is trusted before this returns. */
  #map(info: MapInfoMessage): MappedRegion {
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
