/**
 * The libraries shmnet is compared with are dev dependencies that may be
 * missing (a production install, a platform zeromq ships no binary for).
 * Each is loaded here, once per process, by dynamic import; a library that
 * fails to load is a reason to skip its rows, never a crash.
 *
 * `SHMNET_BENCH_DISABLE=zeromq,grpc` makes the named ones fail to load, so
 * the skip path can be seen (and tested) on a machine that has them all.
 */
export const PEER_LIBRARIES = {
  zeromq: 'zeromq',
  'thread-stream': 'thread-stream',
  grpc: '@grpc/grpc-js',
  piscina: 'piscina',
} as const;

export type PeerLibrary = keyof typeof PEER_LIBRARIES;
export const PEER_LIBRARY_KEYS = Object.keys(PEER_LIBRARIES) as PeerLibrary[];

export type Loaded<T> = { ok: true; mod: T } | { ok: false; reason: string };

const cache = new Map<PeerLibrary, Promise<Loaded<unknown>>>();

function disabled(): Set<string> {
  return new Set((process.env.SHMNET_BENCH_DISABLE ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0));
}

/** Imports the package behind `name`; `{ ok: false, reason }` if it cannot be loaded here. */
export function loadPeer<T = unknown>(name: PeerLibrary): Promise<Loaded<T>> {
  let p = cache.get(name);
  if (p === undefined) {
    const pkg = PEER_LIBRARIES[name];
    p = disabled().has(name)
      ? Promise.resolve({ ok: false, reason: `${pkg}: disabled by SHMNET_BENCH_DISABLE` })
      : import(pkg).then(
          (mod: unknown) => ({ ok: true, mod }),
          (err: Error) => ({ ok: false, reason: `${pkg} did not load: ${err.message.split('\n', 1)[0]}` }),
        );
    cache.set(name, p);
  }
  return p as Promise<Loaded<T>>;
}

/** Like loadPeer, but throws the reason (for code that runs only once the library is known to load). */
export async function requirePeer<T>(name: PeerLibrary): Promise<T> {
  const l = await loadPeer<T>(name);
  if (!l.ok) throw new Error(l.reason);
  return l.mod;
}
