/**
 * The plumbing both ends of the MapInfo exchange share: a frame reader on
 * the control socket, the handshake timeout, and one place that settles
 * the exchange and hands the socket over (paused, its listeners removed,
 * with whatever bytes followed the last frame).
 */
import type { Socket } from 'node:net';
import { codes, ShmnetError } from '../errors.js';
import { FrameReader } from './frames.js';

function noop(): void {}

/** Socket errors that mean the peer closed or died (a dead process's unread data makes a reset). */
const PEER_GONE_ERRNOS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export abstract class Exchange<T> {
  protected readonly socket: Socket;
  protected readonly reader: FrameReader;
  #timer: NodeJS.Timeout | null = null;
  #settled = false;
  /** Frames of ours the socket has not finished writing. */
  #writing = 0;
  #writeError: Error | null = null;
  /** Set by finish() while it waits for the last write; called with an error to give up. */
  #handover: ((err?: Error) => void) | null = null;
  readonly #onWritten = (err?: Error | null) => this.#written(err);
  #resolve!: (v: T) => void;
  #reject!: (e: Error) => void;
  readonly #onData = (chunk: Buffer) => this.#data(chunk);
  readonly #onError = (err: Error) =>
    this.fail(
      PEER_GONE_ERRNOS.has((err as NodeJS.ErrnoException).code ?? '')
        ? new ShmnetError(codes.PEER_GONE, `the peer went away during the handshake: ${err.message}`, { cause: err })
        : new ShmnetError(codes.HANDSHAKE, `control socket failed during the handshake: ${err.message}`, { cause: err }),
    );
  // Sockets are allowHalfOpen, so a peer that closes (or dies: the kernel
  // closes its sockets) shows first as 'end', and 'close' would only follow
  // once we end our side too. Either one means the peer will say no more.
  readonly #onClose = () => this.fail(new ShmnetError(codes.PEER_GONE, 'the peer closed the control socket during the handshake'));
  readonly #onTimeout = () => {
    const err = new ShmnetError(codes.HANDSHAKE_TIMEOUT, `the handshake did not finish within ${this.timeout} ms`);
    // Still waiting in finish() for our last frame to be written: give up on it too.
    if (this.#handover !== null) this.#handover(err);
    else this.fail(err);
  };

  #signal: AbortSignal | undefined;
  readonly #onAbort = () =>
    this.fail(new ShmnetError(codes.SERVER_NOT_RUNNING, 'the server closed during the handshake', { cause: this.#signal?.reason }));

  constructor(socket: Socket, protected readonly timeout: number, maxFrameSize: number) {
    this.socket = socket;
    this.reader = new FrameReader({ maxFrameSize });
  }

  /**
   * Starts listening; the promise settles once. An abort of `signal` fails
   * the exchange at once, releasing what it created (a server that closes
   * does not keep a half-done segment alive until the timeout).
   */
  run(signal?: AbortSignal): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal !== undefined) {
      this.#signal = signal;
      if (signal.aborted) {
        queueMicrotask(this.#onAbort);
        return p;
      }
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#timer = setTimeout(this.#onTimeout, this.timeout);
    this.socket.on('data', this.#onData);
    this.socket.on('error', this.#onError);
    this.socket.on('end', this.#onClose);
    this.socket.on('close', this.#onClose);
    this.start();
    return p;
  }

  /** Called once listeners are in place (the client sends HELLO here). */
  protected start(): void {}

  /** Handles one decoded frame. */
  protected abstract step(frame: unknown): void;

  /** Releases whatever the exchange created, on failure. */
  protected cleanup(): void {}

  get settled(): boolean {
    return this.#settled;
  }

  #data(chunk: Buffer): void {
    if (this.#settled) return;
    try {
      this.reader.push(chunk);
      while (!this.#settled) {
        const frame = this.reader.next();
        if (frame === undefined) break;
        this.step(frame);
      }
    } catch (err) {
      this.fail(err as Error);
    }
  }

  protected send(frame: Buffer): void {
    this.#writing++;
    this.socket.write(frame, this.#onWritten);
  }

  #detach(): void {
    this.#settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.socket.pause();
    this.socket.off('data', this.#onData);
    this.#unlisten();
  }

  #unlisten(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.socket.off('error', this.#onError);
    this.socket.off('end', this.#onClose);
    this.socket.off('close', this.#onClose);
  }

  /** Releases what a successful outcome holds, when it cannot be handed over after all. */
  protected discard(_value: T): void {}

  /**
   * Settles successfully; the socket is handed over paused. With a frame
   * of ours still being written, it waits for that write first: a write
   * that fails (EPIPE, the peer is gone) reports its 'error' and 'close'
   * in the next ticks, before whoever takes the socket over could listen.
   */
  protected finish(value: T): void {
    if (this.#settled) return;
    this.#settled = true;
    this.socket.pause();
    this.socket.off('data', this.#onData);
    // Our 'error'/'close' listeners stay until the write is done; fail()
    // ignores them now that we are settled, and the write's callback (or
    // the timeout, still running) decides.
    this.#handover = (timedOut?: Error) => {
      this.#handover = null;
      if (this.#timer) clearTimeout(this.#timer);
      this.#unlisten();
      if (timedOut !== undefined || this.#writeError !== null || this.socket.destroyed) {
        this.discard(value);
        this.#abandon(
          timedOut ?? new ShmnetError(codes.PEER_GONE, 'the peer went away as the handshake finished', { cause: this.#writeError ?? undefined }),
        );
        return;
      }
      this.#resolve(value);
    };
    if (this.#writing === 0) this.#handover();
  }

  #written(err: Error | null | undefined): void {
    this.#writing--;
    if (err) this.#writeError ??= err;
    if (this.#writing === 0 && this.#handover !== null) this.#handover();
  }

  /** Settles with an error, releases resources and destroys the socket. */
  fail(err: Error): void {
    if (this.#settled) return;
    this.#detach();
    try {
      this.cleanup();
    } finally {
      this.#abandon(err);
    }
  }

  #abandon(err: Error): void {
    // Never leave an unhandled 'error' on a socket nobody listens to any more.
    this.socket.on('error', noop);
    this.socket.destroy();
    this.#reject(err);
  }
}

/** The catalogue code a peer named in REJECT, or HANDSHAKE for one we do not know. */
export function peerCode(code: string): (typeof codes)[keyof typeof codes] {
  return (Object.values(codes) as string[]).includes(code) ? (code as (typeof codes)[keyof typeof codes]) : codes.HANDSHAKE;
}
