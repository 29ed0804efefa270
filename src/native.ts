/**
 * The only module that loads the native addon.
 *
 * The addon returns statuses, never throws for run-time failures: a failed
 * call returns `{ errno, syscall }`, which `check()` here turns into a coded
 * `ShmnetError`. Arguments are validated by the callers in src/mapping and
 * src/transport before they reach this file.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codes, ShmnetError, syscallError } from './errors.js';

const require = createRequire(import.meta.url);

/** The process at the other end of a Unix socket, as the kernel recorded it at connect(). */
export interface PeerCredentials {
  /** -1 where the platform does not report it. */
  pid: number;
  uid: number;
  gid: number;
}

interface Failure {
  errno: number;
  syscall: string;
}

/** What the addon reports it did for MAP_POPULATE / MAP_HUGETLB (indices into PRELOAD / HUGE_PAGES). */
interface RawMapResult<B extends ArrayBufferLike> {
  buffer: B;
  preload: number;
  huge: number;
}

/**
 * How a mapping was preloaded: `'populate'` the page tables were filled at
 * map time (MAP_POPULATE, MADV_POPULATE_READ), `'willneed'` read-ahead was
 * requested (MADV_WILLNEED, PrefetchVirtualMemory), `'none'` not asked or
 * refused. In the order native/shm.h numbers them.
 */
export const PRELOAD = ['none', 'populate', 'willneed'] as const;
export type Preload = (typeof PRELOAD)[number];

/**
 * Which huge pages a mapping uses: `'hugetlb'` pages from the reserved pool
 * (MAP_HUGETLB, SHM_HUGETLB, SEC_LARGE_PAGES), `'transparent'` transparent
 * huge pages were requested (MADV_HUGEPAGE), `'none'` normal pages. In the
 * order native/shm.h numbers them.
 */
export const HUGE_PAGES = ['none', 'hugetlb', 'transparent'] as const;
export type HugePages = (typeof HUGE_PAGES)[number];

export interface MapResult<B extends ArrayBufferLike> {
  buffer: B;
  preload: Preload;
  hugePages: HugePages;
}

interface Binding {
  /** NODE_MODULE_VERSION of the Node the addon was built against; 0 for a Node-API-only build. */
  nodeAbi: number;
  platform: 'linux' | 'darwin' | 'win32';
  pageSize(): number;
  shmOpen(name: string, flags: number, mode: number, size: number): { handle: number; size: number; created: boolean } | Failure;
  shmUnlink(name: string): undefined | Failure;
  fdHandle(fd: number): number;
  handleSize(handle: number): number | Failure;
  handleClose(handle: number): undefined | Failure;
  mapShared(handle: number, offset: number, length: number, prot: number, flags: number): RawMapResult<SharedArrayBuffer> | Failure;
  mapFile(handle: number, offset: number, length: number, prot: number, flags: number): RawMapResult<ArrayBuffer> | Failure;
  mapAnonymous(length: number, flags: number): RawMapResult<SharedArrayBuffer> | Failure;
  unmap(buffer: ArrayBuffer): undefined | Failure;
  sync(buffer: ArrayBufferLike, offset: number, length: number, async: boolean, file: number): undefined | Failure;
  copy(
    dst: ArrayBufferLike,
    dstOffset: number,
    src: ArrayBufferLike,
    srcOffset: number,
    length: number,
    handle: number,
    required: number,
  ): undefined | number | Failure;
  advise(buffer: ArrayBufferLike, offset: number, length: number, advice: number): undefined | Failure;
  lock(buffer: ArrayBufferLike, offset: number, length: number): undefined | Failure;
  unlock(buffer: ArrayBufferLike, offset: number, length: number): undefined | Failure;
  sysvCreate(size: number, mode: number, flags: number): { id: number; huge: number } | Failure;
  sysvSize(id: number): number | Failure;
  sysvAttach(id: number, size: number, flags: number): RawMapResult<SharedArrayBuffer> | Failure;
  sysvRemove(id: number): undefined | Failure;
  memfdCreate(label: string, size: number): { handle: number; size: number } | Failure;
  memfdSeals(handle: number): number | Failure;
  sendFd(socketFd: number, fd: number): undefined | Failure;
  recvFd(socketFd: number): number | Failure;
  peerCred(socketFd: number): PeerCredentials | Failure;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new ShmnetError(codes.NOT_FOUND, 'shmnet: cannot find the package root (binding.gyp)');
    dir = up;
  }
}

const binding: Binding = require('node-gyp-build')(packageRoot());
// The addon uses V8's C++ API for external SharedArrayBuffers, so it is
// tied to one Node ABI, like any non-Node-API addon: refuse a binary built
// for another Node before any of its V8 calls can run. A Node-API-only
// build (Windows) reports 0 and loads in any Node.
if (binding.nodeAbi !== 0 && binding.nodeAbi !== Number(process.versions.modules)) {
  throw new ShmnetError(
    codes.ADDON_MISMATCH,
    `shmnet: the native addon was built for Node ABI ${binding.nodeAbi}, but this is Node ${process.version} (ABI ${process.versions.modules}); rebuild it with \`npm rebuild shmnet\``,
  );
}

export const SHM_CREATE = 1;
export const SHM_EXCLUSIVE = 2;
export const SHM_READ_ONLY = 4;

export const PROT_READ = 0;
export const PROT_READ_WRITE = 1;
export const PROT_COPY_ON_WRITE = 2;

export const MAP_POPULATE = 1;
export const MAP_HUGETLB = 2;

/** madvise advice names, in the order native/shm.h numbers them. */
export const ADVICE = ['normal', 'sequential', 'random', 'willneed', 'dontneed', 'hugepage', 'nohugepage'] as const;
export type Advice = (typeof ADVICE)[number];

export const platform = binding.platform;
export const pageSize: number = binding.pageSize();

function isFailure(v: unknown): v is Failure {
  return typeof v === 'object' && v !== null && typeof (v as Failure).errno === 'number';
}

/** Returns `v`, or throws the coded error for a failed syscall. */
function check<T>(v: T | Failure, path?: string): T {
  if (isFailure(v)) throw syscallError(v.syscall, v.errno, undefined, path);
  return v;
}

export function shmOpen(name: string, flags: number, mode: number, size: number) {
  return check(binding.shmOpen(name, flags, mode, size), name);
}
export function shmUnlink(name: string): void {
  check(binding.shmUnlink(name), name);
}
/** The native handle behind an fd from node:fs (the fd itself on POSIX). */
export function fdHandle(fd: number): number {
  return binding.fdHandle(fd);
}
export function handleSize(handle: number): number {
  return check(binding.handleSize(handle));
}
export function handleClose(handle: number): void {
  check(binding.handleClose(handle));
}
function mapped<B extends ArrayBufferLike>(r: RawMapResult<B>): MapResult<B> {
  return { buffer: r.buffer, preload: PRELOAD[r.preload] ?? 'none', hugePages: HUGE_PAGES[r.huge] ?? 'none' };
}

export function mapShared(handle: number, offset: number, length: number, prot: number, flags: number) {
  return mapped(check(binding.mapShared(handle, offset, length, prot, flags)));
}
export function mapFile(handle: number, offset: number, length: number, prot: number, flags: number) {
  return mapped(check(binding.mapFile(handle, offset, length, prot, flags)));
}
export function mapAnonymous(length: number, flags: number) {
  return mapped(check(binding.mapAnonymous(length, flags)));
}
export function unmap(buffer: ArrayBuffer): void {
  check(binding.unmap(buffer));
}
/** msync / FlushViewOfFile; `file` (a handle, or -1) lets Windows also flush the file's buffers. */
export function sync(buffer: ArrayBufferLike, offset: number, length: number, async: boolean, file = -1): void {
  check(binding.sync(buffer, offset, length, async, file));
}

/** `copy` result: the bytes were copied. */
export const COPIED = -1;
/** `copy` result: a page vanished under the copy (SIGBUS, caught) or could not be read in. */
export const FAULTED = -2;
const EFAULT = osConstants.errno.EFAULT;

/**
 * Copies `length` bytes from `src` at `srcOffset` to `dst` at `dstOffset`
 * (either may be mapped memory) so that a page vanishing under the copy
 * cannot kill the process. With `handle` (not -1) it first checks, with one
 * fstat, that the file still holds `required` bytes.
 *
 * Returns `COPIED`, `FAULTED`, or (when the check fails, nothing copied) the
 * file's current size. Throws the coded error if fstat fails; a range
 * outside either buffer (a detached one) throws `SHMNET_ERR_INVALID_ARG`.
 */
export function copy(
  dst: ArrayBufferLike,
  dstOffset: number,
  src: ArrayBufferLike,
  srcOffset: number,
  length: number,
  handle = -1,
  required = 0,
): number {
  const r = binding.copy(dst, dstOffset, src, srcOffset, length, handle, required);
  if (r === undefined) return COPIED;
  if (typeof r === 'number') return r;
  if (r.errno === EFAULT && r.syscall === 'memcpy') return FAULTED;
  throw syscallError(r.syscall, r.errno);
}
export function advise(buffer: ArrayBufferLike, offset: number, length: number, advice: Advice): void {
  check(binding.advise(buffer, offset, length, ADVICE.indexOf(advice)));
}
export function lock(buffer: ArrayBufferLike, offset: number, length: number): void {
  check(binding.lock(buffer, offset, length));
}
export function unlock(buffer: ArrayBufferLike, offset: number, length: number): void {
  check(binding.unlock(buffer, offset, length));
}
export function sysvCreate(size: number, mode: number, flags: number): { id: number; hugePages: HugePages } {
  const r = check(binding.sysvCreate(size, mode, flags));
  return { id: r.id, hugePages: HUGE_PAGES[r.huge] ?? 'none' };
}
export function sysvSize(id: number): number {
  return check(binding.sysvSize(id));
}
export function sysvAttach(id: number, size: number, flags: number) {
  return mapped(check(binding.sysvAttach(id, size, flags)));
}
export function sysvRemove(id: number): void {
  check(binding.sysvRemove(id));
}

// ---- nameless segments (Linux): memfd + SCM_RIGHTS ------------------------

/** Seal bits reported by `memfdSeals` (fcntl F_GET_SEALS). */
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;

/** A sealed memfd of `size` bytes (pages reserved; it can neither shrink nor grow). */
export function memfdCreate(label: string, size: number): { handle: number; size: number } {
  return check(binding.memfdCreate(label, size));
}
export function memfdSeals(handle: number): number {
  return check(binding.memfdSeals(handle));
}
/** Sends `fd` over the connected Unix socket `socketFd` (one byte + SCM_RIGHTS). */
export function sendFd(socketFd: number, fd: number): void {
  check(binding.sendFd(socketFd, fd));
}
/** Receives a descriptor, or returns null while none has arrived (EAGAIN). */
const EAGAIN_ERRNO = osConstants.errno.EAGAIN;
export function recvFd(socketFd: number): number | null {
  const r = binding.recvFd(socketFd);
  if (typeof r === 'object' && r !== null && r.errno === EAGAIN_ERRNO) return null;
  return check(r);
}
/** The kernel's record of who is at the other end of the connected Unix socket `socketFd`. */
export function peerCred(socketFd: number): PeerCredentials {
  return check(binding.peerCred(socketFd));
}
