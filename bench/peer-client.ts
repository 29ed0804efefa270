/** Forks the peer process (peer.ts) and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import type { FromPeer, PeerAddresses, ToPeer } from './protocol.js';

/** The peer next to this file: peer.js when running compiled, peer.ts under a TypeScript loader. */
function peerPath(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./peer${extname(self)}`, import.meta.url));
}

export interface Reached {
  stats: Array<Record<string, unknown> | null>;
  cpuUs: number;
}

export class Peer {
  readonly child: ChildProcess;
  addresses!: PeerAddresses;
  pid = 0;
  #tag = 0;
  #waiting = new Map<number, (m: FromPeer) => void>();
  #failure: Error | null = null;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (m: FromPeer) => {
      if (m.t === 'error') {
        this.#failure = new Error(`bench peer: ${m.message}`);
        process.stderr.write(`${this.#failure.message}\n`);
        return;
      }
      if (m.t === 'ready') return;
      const cb = this.#waiting.get(m.tag);
      if (cb) {
        this.#waiting.delete(m.tag);
        cb(m);
      }
    });
    child.on('exit', (code, signal) => {
      const err = new Error(`bench peer exited (code ${code}, signal ${signal})`);
      this.#failure ??= err;
      for (const cb of this.#waiting.values()) cb({ t: 'error', message: err.message });
      this.#waiting.clear();
    });
  }

  /** Forks the peer (inheriting execArgv, so `node --cpu-prof` profiles it too) and waits until it listens. */
  static async start(): Promise<Peer> {
    const child = fork(peerPath(), [], { stdio: ['pipe', 'inherit', 'inherit', 'ipc'] });
    const peer = new Peer(child);
    const [m] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`bench peer exited with code ${code} before it was ready`);
      }),
    ])) as [FromPeer];
    if (m.t !== 'ready') throw new Error(`bench peer: ${m.t === 'error' ? m.message : 'unexpected first message'}`);
    peer.addresses = m.addresses;
    peer.pid = m.pid;
    return peer;
  }

  /** The peer's stdin: the pipe transport. */
  get stdin(): Writable {
    return this.child.stdin!;
  }

  #ask(m: ToPeer & { tag: number }): Promise<FromPeer> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.set(m.tag, (r) => (r.t === 'error' ? reject(new Error(r.message)) : resolve(r)));
      this.child.send(m);
    });
  }

  /**
   * Resolves when the peer has received `bytes` (cumulative) on each stream
   * id, with the peer's shmnet stats per stream and its CPU time (µs) then.
   */
  async awaitBytes(waits: Array<[id: number, bytes: number]>): Promise<Reached> {
    const r = await this.#ask({ t: 'await', tag: ++this.#tag, waits });
    if (r.t !== 'reached') throw new Error('bench peer: bad await reply');
    return { stats: r.stats, cpuUs: r.user + r.system };
  }

  /** The peer's process.cpuUsage(), µs. */
  async cpuUsage(): Promise<{ user: number; system: number }> {
    const r = await this.#ask({ t: 'cpu', tag: ++this.#tag });
    if (r.t !== 'cpu') throw new Error('bench peer: bad cpu reply');
    return { user: r.user, system: r.system };
  }

  /** Message mode: the peer connects to `port` (a shmnet server here) with `transport` (and `records`) and sends until stopMessages(). */
  async startMessages(port: number, transport: 'shm' | 'tcp', records: boolean): Promise<void> {
    const r = await this.#ask({ t: 'msend', tag: ++this.#tag, port, transport, records });
    if (r.t !== 'msending') throw new Error('bench peer: bad msend reply');
    if (r.error !== undefined) throw new Error(`bench peer: message sender: ${r.error}`);
  }

  /** Stops the peer's message sender; resolves with the number of messages it sent. */
  async stopMessages(): Promise<number> {
    const r = await this.#ask({ t: 'mstop', tag: ++this.#tag });
    if (r.t !== 'mstopped') throw new Error('bench peer: bad mstop reply');
    return r.sent;
  }

  /** Throws if the peer reported an error. */
  check(): void {
    if (this.#failure) throw this.#failure;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ t: 'exit' } satisfies ToPeer);
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }
}
