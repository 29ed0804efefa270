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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syscallError } from './errors.js';

const require = createRequire(import.meta.url);

interface Failure {
  errno: number;
  syscall: string;
}

export interface MapResult<B extends ArrayBufferLike> {
  buffer: B;
  populated: boolean;
  huge: boolean;
}

interface Binding {
  platform: 'linux' | 'darwin' | 'win32';
  pageSize(): number;
  shmOpen(name: string, flags: number, mode: number, size: number): { handle: number; size: number; created: boolean } | Failure;
  shmUnlink(name: string): undefined | Failure;
  fdHandle(fd: number): number;
  handleSize(handle: number): number | Failure;
  handleClose(handle: number): undefined | Failure;
  handleReserve(handle: number, size: number): undefined | Failure;
  mapShared(handle: number, offset: number, length: number, prot: number, flags: number): MapResult<SharedArrayBuffer> | Failure;
  mapFile(handle: number, offset: number, length: number, prot: number, flags: number): MapResult<ArrayBuffer> | Failure;
  mapAnonymous(length: number, flags: number): MapResult<SharedArrayBuffer> | Failure;
  unmap(buffer: ArrayBuffer): undefined | Failure;
  sync(buffer: ArrayBufferLike, offset: number, length: number, async: boolean): undefined | Failure;
  advise(buffer: ArrayBufferLike, offset: number, length: number, advice: number): undefined | Failure;
  lock(buffer: ArrayBufferLike, offset: number, length: number): undefined | Failure;
  unlock(buffer: ArrayBufferLike, offset: number, length: number): undefined | Failure;
  sysvCreate(size: number, mode: number): number | Failure;
  sysvSize(id: number): number | Failure;
  sysvAttach(id: number, size: number): MapResult<SharedArrayBuffer> | Failure;
  sysvRemove(id: number): undefined | Failure;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('shmnet: cannot find the package root (binding.gyp)');
    dir = up;
  }
}

const binding: Binding = require('node-gyp-build')(packageRoot());

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
export function handleReserve(handle: number, size: number): void {
  check(binding.handleReserve(handle, size));
}
export function mapShared(handle: number, offset: number, length: number, prot: number, flags: number) {
  return check(binding.mapShared(handle, offset, length, prot, flags));
}
export function mapFile(handle: number, offset: number, length: number, prot: number, flags: number) {
  return check(binding.mapFile(handle, offset, length, prot, flags));
}
export function mapAnonymous(length: number, flags: number) {
  return check(binding.mapAnonymous(length, flags));
}
export function unmap(buffer: ArrayBuffer): void {
  check(binding.unmap(buffer));
}
export function sync(buffer: ArrayBufferLike, offset: number, length: number, async: boolean): void {
  check(binding.sync(buffer, offset, length, async));
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
export function sysvCreate(size: number, mode: number): number {
  return check(binding.sysvCreate(size, mode));
}
export function sysvSize(id: number): number {
  return check(binding.sysvSize(id));
}
export function sysvAttach(id: number, size: number) {
  return check(binding.sysvAttach(id, size));
}
export function sysvRemove(id: number): void {
  check(binding.sysvRemove(id));
}
