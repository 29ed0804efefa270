/**
 * The server's half of the Memory Map Service exchange:
 *
 *   read HELLO → same host and shared memory possible?
 *     yes → create the segment, send MAPINFO, wait for ACK → unlink → rings
 *     no  → send FALLBACK → the socket is the byte stream
 *
 * A NACK (the client could not map) falls back too under 'auto'. Every
 * failure path unlinks the segment it created: a timeout, a malformed or
 * out-of-order frame, the client closing or dying before its reply, NACK,
 * REJECT and an ACK with the wrong token all end in `cleanup()`.
 *
 * The client is untrusted. Its HELLO is checked field by field
 * (messages.ts); a ring size is capped at `maxRingSize`; a client that
 * says it runs as another user gets the socket (or PERMISSION under
 * 'shm'): the region's mode 0600 would stop it anyway. On a Unix socket
 * the uid checked is the kernel's (SO_PEERCRED, getpeereid), not HELLO's:
 * a client cannot claim to be someone else. Over TCP only HELLO's uid
 * exists, the client's word, so there what keeps other users out is the
 * mode and owner of the object.
 */
import type { Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { codes, ShmnetError, type ShmnetErrorCode } from '../errors.js';
import { MAX_CAPACITY, MIN_CAPACITY } from '../ring/layout.js';
import { Exchange, peerCode } from './exchange.js';
import { hostId } from './host-id.js';
import type { HandshakeOutcome } from './outcome.js';
import { encodeMessage, parseClientReply, parseHello, PROTOCOL_VERSION, type HelloMessage, type TransportChoice } from './messages.js';
import { createSegment, unlinkQuietly, type Segment } from './segment.js';
import { canPassFd, closeMemfdHandle, createMemfdSegment, sendRegionFd, type MemfdSegment } from './memfd.js';
import { peerCredentials, type PeerCredentials } from './peer-cred.js';

export interface ServerHandshakeOptions {
  transport: TransportChoice;
  ringSize: number;
  maxRingSize: number;
  handshakeTimeout: number;
  maxFrameSize: number;
}


class ServerExchange extends Exchange<HandshakeOutcome> {
  #state: 'hello' | 'reply' | 'fallback' = 'hello';
  #hello: HelloMessage | undefined;
  /** The segment offered, until ACK or cleanup: a named one, or a memfd. */
  #segment: Segment | null = null;
  #memfd: MemfdSegment | null = null;
  readonly #started = performance.now();
  readonly #peer: PeerCredentials | null;

  constructor(socket: Socket, private readonly opts: ServerHandshakeOptions) {
    super(socket, opts.handshakeTimeout, opts.maxFrameSize);
    this.#peer = peerCredentials(socket);
  }

  protected step(frame: unknown): void {
    if (this.#state === 'hello') this.#onHello(parseHello(frame));
    else if (this.#state === 'reply') this.#onReply(frame);
    else throw new ShmnetError(codes.HANDSHAKE, 'unexpected frame after the handshake');
  }

  #onHello(hello: HelloMessage): void {
    this.#hello = hello;
    const strict = this.opts.transport === 'shm' || hello.transport === 'shm';
    let reason: string | null = null;
    let code: ShmnetErrorCode = codes.UNSUPPORTED;
    const own = effectiveUid();
    const fdPath = hello.fdPassing === true && canPassFd(this.socket);
    const sameHost = hello.hostId === hostId();
    // The kernel's word where there is one; HELLO's otherwise.
    const uid = this.#peer?.uid ?? hello.uid;
    if (this.opts.transport === 'tcp') reason = 'the server uses the socket (transport: tcp)';
    else if (hello.transport === 'tcp') reason = 'the client asked for the socket (transport: tcp)';
    // A descriptor that arrives over this socket proves one kernel (containers
    // with their own hostnames share memory through it); the host id is
    // what decides only where no descriptor can travel (TCP, macOS).
    else if (!fdPath && !sameHost) reason = 'the peers are on different hosts';
    else if (own !== -1 && uid !== -1 && uid !== own) {
      // The region is created with mode 0600 for our uid: a client running
      // as another user could not open it (unless it is root, and then it
      // needs no invitation). Say so now instead of making a region for nothing.
      reason = `the client runs as uid ${uid}${this.#peer ? '' : ' (its own word)'} and the server as uid ${own}; shared memory is private to one user`;
      code = codes.PERMISSION;
    }
    if (reason !== null) {
      if (strict) {
        return this.#reject(new ShmnetError(code, `cannot use shared memory: ${reason}`));
      }
      return this.#fallback(reason);
    }
    const capacity =
      hello.ringSize === 0 ? this.opts.ringSize : Math.max(MIN_CAPACITY, Math.min(hello.ringSize, this.opts.maxRingSize, MAX_CAPACITY));
    if (fdPath) {
      try {
        this.#memfd = createMemfdSegment(capacity);
      } catch {
        // memfd unavailable (old kernel, seccomp): the named kind below.
      }
    }
    if (this.#memfd === null) {
      // A named segment is found through /dev/shm, which only one host (and mount namespace) shares.
      if (!sameHost) {
        const why = 'the peers are on different hosts and no descriptor could be made to pass';
        if (strict) return this.#reject(new ShmnetError(codes.UNSUPPORTED, `cannot use shared memory: ${why}`));
        return this.#fallback(why);
      }
      try {
        this.#segment = createSegment(capacity);
      } catch (err) {
        const e = err as ShmnetError;
        if (strict) return this.#reject(e);
        return this.#fallback(`cannot create shared memory: ${e.message}`);
      }
    }
    const s = (this.#memfd ?? this.#segment)!;
    this.send(
      encodeMessage({
        type: 'mapinfo',
        version: PROTOCOL_VERSION,
        // A memfd has no name; the field is then only a label.
        name: this.#segment?.name ?? 'memfd',
        size: s.region.size,
        ringSize: s.capacity,
        token: s.token,
        serverPid: process.pid,
        fd: this.#memfd !== null,
      }),
    );
    this.#state = 'reply';
  }

  #onReply(frame: unknown): void {
    const reply = parseClientReply(frame);
    const m = this.#memfd;
    const s = (m ?? this.#segment)!;
    if (reply.type === 'fdready') {
      if (m === null || m.handle < 0) throw new ShmnetError(codes.HANDSHAKE, 'FDREADY without a descriptor to send');
      // MAPINFO has been read by the client, so nothing of ours is queued ahead of this byte.
      sendRegionFd(this.socket, m.handle);
      closeMemfdHandle(m);
      return;
    }
    if (reply.type === 'ack') {
      if (m !== null && m.handle >= 0) throw new ShmnetError(codes.HANDSHAKE, 'ACK before the descriptor was sent');
      if (reply.token.length !== s.token.length || !timingSafeEqual(reply.token, s.token)) {
        throw new ShmnetError(codes.HANDSHAKE, 'ACK carried the wrong token');
      }
      // From here on no name exists: the kernel frees the memory when both sides unmap.
      if (this.#segment !== null) unlinkQuietly(this.#segment.name);
      this.#segment = null;
      this.#memfd = null;
      this.finish({
        kind: 'shm',
        region: s.region,
        capacity: s.capacity,
        rest: this.reader.takeRest(),
        hello: this.#hello!,
        handshakeMs: performance.now() - this.#started,
        segment: m !== null ? 'memfd' : 'named',
        peer: this.#peer,
      });
      return;
    }
    this.cleanup();
    if (reply.type === 'reject') {
      throw new ShmnetError(peerCode(reply.code), `the client rejected the region: ${reply.message}`);
    }
    // NACK: the client could not map the region.
    if (this.opts.transport === 'shm' || this.#hello!.transport === 'shm') {
      return this.#reject(new ShmnetError(codes.UNSUPPORTED, `the client could not map the region: ${reply.reason}`));
    }
    this.#fallback(`the client could not map the region: ${reply.reason}`);
  }

  protected override discard(outcome: HandshakeOutcome): void {
    if (outcome.kind === 'shm') outcome.region.close();
  }

  #fallback(reason: string): void {
    this.send(encodeMessage({ type: 'fallback', version: PROTOCOL_VERSION, reason }));
    this.finish({ kind: 'tcp', rest: this.reader.takeRest(), reason, hello: this.#hello, handshakeMs: performance.now() - this.#started, peer: this.#peer });
  }

  #reject(err: ShmnetError): void {
    this.socket.end(encodeMessage({ type: 'reject', version: PROTOCOL_VERSION, code: err.code, message: err.message.slice(0, 1000) }));
    throw err;
  }

  protected override cleanup(): void {
    const m = this.#memfd;
    if (m !== null) {
      this.#memfd = null;
      closeMemfdHandle(m);
      m.region.close();
    }
    const s = this.#segment;
    if (s !== null) {
      this.#segment = null;
      unlinkQuietly(s.name);
      s.region.close();
    }
  }
}

/** The uid regions are created for, or -1 where there are no uids (Windows). */
function effectiveUid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : -1;
}

/** Runs the server's half on a freshly accepted socket; aborting `signal` fails it (and unlinks its segment) at once. */
export function serverHandshake(socket: Socket, opts: ServerHandshakeOptions, signal?: AbortSignal): Promise<HandshakeOutcome> {
  return new ServerExchange(socket, opts).run(signal);
}
