/**
 * The plumbing both ends of the MapInfo exchange share: a frame reader on
 * the control socket, the handshake timeout, and one place that settles
 * the exchange and hands the socket over (paused, its listeners removed,
 * with whatever bytes followed the last frame).
 */
import type { Socket } from 'node:net';
import { codes, ShmnetError } from '../errors.js';
import { FrameReader } from './frames.js';

export abstract class Exchange<T> {
  protected readonly socket: Socket;
  protected readonly reader: FrameReader;
  #timer: NodeJS.Timeout | null = null;
  #settled = false;
  #resolve!: (v: T) => void;
  #reject!: (e: Error) => void;
  readonly #onData = (chunk: Buffer) => this.#data(chunk);
  readonly #onError = (err: Error) =>
    this.fail(new ShmnetError(codes.HANDSHAKE, `control socket failed during the handshake: ${err.message}`, { cause: err }));
  readonly #onClose = () => this.fail(new ShmnetError(codes.PEER_GONE, 'the peer closed the control socket during the handshake'));
  readonly #onTimeout = () =>
    this.fail(new ShmnetError(codes.HANDSHAKE_TIMEOUT, `the handshake did not finish within ${this.timeout} ms`));

  constructor(socket: Socket, protected readonly timeout: number, maxFrameSize: number) {
    this.socket = socket;
    this.reader = new FrameReader({ maxFrameSize });
  }

  /** Starts listening; the promise settles once. */
  run(): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = setTimeout(this.#onTimeout, this.timeout);
    this.socket.on('data', this.#onData);
    this.socket.on('error', this.#onError);
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
    this.socket.write(frame);
  }

  #detach(): void {
    this.#settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.socket.pause();
    this.socket.off('data', this.#onData);
    this.socket.off('error', this.#onError);
    this.socket.off('close', this.#onClose);
  }

  /** Settles successfully; the socket is handed over paused. */
  protected finish(value: T): void {
    if (this.#settled) return;
    this.#detach();
    this.#resolve(value);
  }

  /** Settles with an error, releases resources and destroys the socket. */
  fail(err: Error): void {
    if (this.#settled) return;
    this.#detach();
    try {
      this.cleanup();
    } finally {
      // Never leave an unhandled 'error' on a socket nobody listens to any more.
      this.socket.on('error', () => {});
      this.socket.destroy();
      this.#reject(err);
    }
  }
}

/** The catalogue code a peer named in REJECT, or HANDSHAKE for one we do not know. */
export function peerCode(code: string): (typeof codes)[keyof typeof codes] {
  return (Object.values(codes) as string[]).includes(code) ? (code as (typeof codes)[keyof typeof codes]) : codes.HANDSHAKE;
}
