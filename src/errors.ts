/**
 * The one catalogue of shmnet errors.
 *
 * Every error shmnet raises carries a stable `code` (`SHMNET_ERR_*`).
 * Caller mistakes are thrown synchronously as `TypeError`/`RangeError`
 * subclasses; run-time failures (a syscall, a peer, a corrupt ring) are
 * `ShmnetError`s and reach a stream through `destroy(err)` / `'error'`.
 * Where a syscall failed the error also carries `errno` (the positive
 * errno number), `syscall` and the symbolic `sysCode` (`'ENOSPC'`). A
 * connection error that node:net reports with an errno code carries that
 * code in `sysCode` too: a reset is `SHMNET_ERR_CONN_RESET` with
 * `sysCode: 'ECONNRESET'`, a write after the peer ended is
 * `SHMNET_ERR_SOCKET_CLOSED` with `sysCode: 'EPIPE'`.
 *
 * Each class brands itself with `Symbol.for` so that `instanceof` keeps
 * working when two copies of the package meet in one process.
 */
import { constants as osConstants } from 'node:os';

export const codes = {
  INVALID_ARG: 'SHMNET_ERR_INVALID_ARG',
  CLOSED: 'SHMNET_ERR_CLOSED',
  READ_ONLY: 'SHMNET_ERR_READ_ONLY',
  OUT_OF_RANGE: 'SHMNET_ERR_OUT_OF_RANGE',
  NO_SPACE: 'SHMNET_ERR_NO_SPACE',
  EXISTS: 'SHMNET_ERR_EXISTS',
  NOT_FOUND: 'SHMNET_ERR_NOT_FOUND',
  PERMISSION: 'SHMNET_ERR_PERMISSION',
  UNSUPPORTED: 'SHMNET_ERR_UNSUPPORTED',
  ADDON_MISMATCH: 'SHMNET_ERR_ADDON_MISMATCH',
  SYSCALL: 'SHMNET_ERR_SYSCALL',
  TRUNCATED: 'SHMNET_ERR_TRUNCATED',
  RING_CORRUPT: 'SHMNET_ERR_RING_CORRUPT',
  HANDSHAKE: 'SHMNET_ERR_HANDSHAKE',
  HANDSHAKE_TIMEOUT: 'SHMNET_ERR_HANDSHAKE_TIMEOUT',
  PEER_GONE: 'SHMNET_ERR_PEER_GONE',
  CONN_RESET: 'SHMNET_ERR_CONN_RESET',
  SOCKET_CLOSED: 'SHMNET_ERR_SOCKET_CLOSED',
  SERVER_NOT_RUNNING: 'SHMNET_ERR_SERVER_NOT_RUNNING',
  MESSAGE_TOO_LARGE: 'SHMNET_ERR_MESSAGE_TOO_LARGE',
  MESSAGE_MALFORMED: 'SHMNET_ERR_MESSAGE_MALFORMED',
  /** A call out of order: a second claim or borrow while one is held, a commit without a claim. */
  INVALID_STATE: 'SHMNET_ERR_INVALID_STATE',
} as const;

export type ShmnetErrorCode = (typeof codes)[keyof typeof codes];

const kShmnetError = Symbol.for('shmnet.error');

/** The brand of an error made by any copy of this module, or undefined. */
function brandOf(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const b = (v as Record<symbol, unknown>)[kShmnetError];
  return typeof b === 'string' ? b : undefined;
}

export interface SyscallInfo {
  /** Positive errno number. */
  errno?: number;
  /** Symbolic errno name, e.g. `'ENOSPC'`. */
  sysCode?: string;
  syscall?: string;
  path?: string;
}

function decorate(err: Error & Record<string, unknown>, code: ShmnetErrorCode, info?: SyscallInfo): void {
  err.code = code;
  if (info) {
    if (info.errno !== undefined) err.errno = info.errno;
    if (info.sysCode !== undefined) err.sysCode = info.sysCode;
    if (info.syscall !== undefined) err.syscall = info.syscall;
    if (info.path !== undefined) err.path = info.path;
  }
}

/** A run-time failure. */
export class ShmnetError extends Error {
  declare code: ShmnetErrorCode;
  declare errno?: number;
  declare sysCode?: string;
  declare syscall?: string;
  declare path?: string;

  constructor(code: ShmnetErrorCode, message: string, info?: SyscallInfo & { cause?: unknown }) {
    super(message, info?.cause !== undefined ? { cause: info.cause } : undefined);
    decorate(this as unknown as Error & Record<string, unknown>, code, info);
  }

  override get name(): string {
    return 'ShmnetError';
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return brandOf(v) === 'error';
  }

  get [kShmnetError](): string {
    return 'error';
  }
}

/** A caller passed a value of the wrong type. */
export class ShmnetTypeError extends TypeError {
  declare code: ShmnetErrorCode;
  constructor(message: string, code: ShmnetErrorCode = codes.INVALID_ARG) {
    super(message);
    decorate(this as unknown as Error & Record<string, unknown>, code);
  }
  static override [Symbol.hasInstance](v: unknown): boolean {
    return brandOf(v) === 'type';
  }
  get [kShmnetError](): string {
    return 'type';
  }
}

/** A caller passed a value out of range (an offset, a size). */
export class ShmnetRangeError extends RangeError {
  declare code: ShmnetErrorCode;
  constructor(message: string, code: ShmnetErrorCode = codes.OUT_OF_RANGE) {
    super(message);
    decorate(this as unknown as Error & Record<string, unknown>, code);
  }
  static override [Symbol.hasInstance](v: unknown): boolean {
    return brandOf(v) === 'range';
  }
  get [kShmnetError](): string {
    return 'range';
  }
}

export function isShmnetError(v: unknown): v is ShmnetError | ShmnetTypeError | ShmnetRangeError {
  return brandOf(v) !== undefined;
}

// ---- syscall failures ----------------------------------------------------

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(osConstants.errno)) errnoNames.set(num as number, name);

/** Symbolic name of a positive errno, or `'E<n>'` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Maps a failed syscall's errno to the catalogue's code. */
export function codeForErrno(sysCode: string): ShmnetErrorCode {
  switch (sysCode) {
    case 'ENOSPC':
    case 'ENOMEM':
    case 'EFBIG':
      return codes.NO_SPACE;
    case 'EEXIST':
      return codes.EXISTS;
    case 'ENOENT':
    case 'EIDRM':
      return codes.NOT_FOUND;
    case 'EACCES':
    case 'EPERM':
      return codes.PERMISSION;
    case 'EINVAL':
    case 'ENAMETOOLONG':
      return codes.INVALID_ARG;
    case 'ENOSYS':
    case 'EOPNOTSUPP':
      return codes.UNSUPPORTED;
    default:
      return codes.SYSCALL;
  }
}

/** Builds the coded error for a syscall that failed with `errno`. */
export function syscallError(syscall: string, errno: number, detail?: string, path?: string): ShmnetError {
  const sysCode = errnoName(errno);
  const where = path !== undefined ? ` '${path}'` : '';
  const msg = `${syscall}${where} failed: ${sysCode}${detail ? ` (${detail})` : ''}`;
  return new ShmnetError(codeForErrno(sysCode), msg, { errno, sysCode, syscall, path });
}

/** Wraps an error thrown by node:fs (which carries a symbolic `code`) into the catalogue. */
export function fromNodeError(err: unknown, path?: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || typeof e.errno !== 'number') return err;
  const errno = Math.abs(osConstants.errno[e.code as keyof typeof osConstants.errno] ?? e.errno);
  return new ShmnetError(codeForErrno(e.code), e.message, { errno, sysCode: e.code, syscall: e.syscall, path, cause: err });
}

// ---- shorthands used across the package ----------------------------------

export function closedError(what = 'region'): ShmnetError {
  return new ShmnetError(codes.CLOSED, `the ${what} is closed`);
}

export function invalidArg(message: string): ShmnetTypeError {
  return new ShmnetTypeError(message, codes.INVALID_ARG);
}

export function outOfRange(message: string): ShmnetRangeError {
  return new ShmnetRangeError(message, codes.OUT_OF_RANGE);
}

/** The peer reset the connection (its resetAndDestroy()): net's ECONNRESET. */
export function connReset(message: string): ShmnetError {
  return new ShmnetError(codes.CONN_RESET, message, { sysCode: 'ECONNRESET', syscall: 'read' });
}

/** A call made in the wrong state (a caller mistake, so a TypeError as node's own misuse errors are thrown synchronously). */
export function invalidState(message: string): ShmnetTypeError {
  return new ShmnetTypeError(message, codes.INVALID_STATE);
}

export function ringCorrupt(message: string): ShmnetError {
  return new ShmnetError(codes.RING_CORRUPT, `ring corrupt: ${message}`);
}
