/**
 * The Memory Map Service messages and their strict validators.
 *
 * ```
 *  client                                   server
 *    | ---- HELLO ---------------------------> |
 *    | <--- MAPINFO | FALLBACK | REJECT ------ |
 *    | ---- ACK | NACK | REJECT -------------> |   (after MAPINFO only)
 * ```
 *
 * After FALLBACK, or a NACK under transport `'auto'`, both sides use the
 * control socket itself as the byte stream.
 *
 * Every message arrives from an untrusted peer. A parser turns an unknown
 * decoded frame into a typed message or throws `SHMNET_ERR_HANDSHAKE`
 * naming the bad field. Unknown extra fields are ignored; missing or
 * mistyped ones are errors.
 */
import { codes, ShmnetError, invalidArg } from '../errors.js';
import { isValidCapacity } from '../ring/header.js';
import { MAX_CAPACITY, MAX_RING_REGION_SIZE, MIN_CAPACITY, TOKEN_LENGTH } from '../ring/layout.js';
import { encodeFrame } from './frames.js';

/** The version this build speaks. */
export const PROTOCOL_VERSION = 1;
/** Versions this build accepts from a peer. */
export const SUPPORTED_VERSIONS: readonly number[] = Object.freeze([PROTOCOL_VERSION]);

export const MAX_HOST_ID_LENGTH = 256;
export const MAX_SHM_NAME_LENGTH = 64;
export const MAX_REASON_LENGTH = 256;
export const MAX_CODE_LENGTH = 64;
export const MAX_MESSAGE_LENGTH = 1024;
/** Highest pid accepted (Int32 max; pids are positive int32 on every platform we run on). */
export const MAX_PID = 0x7fffffff;

const SHM_NAME_RE = /^\/?[A-Za-z0-9._-]+$/;
const ERROR_CODE_RE = /^SHMNET_ERR_[A-Z0-9_]+$/;

/** What carries a connection's bytes, as a caller asks for it and HELLO carries it. */
export const TRANSPORT_CHOICES = ['auto', 'shm', 'tcp'] as const;
/** 'auto' falls back to the socket, 'shm' fails instead, 'tcp' never maps. */
export type TransportChoice = (typeof TRANSPORT_CHOICES)[number];

/** Client → server: who the client is and what it wants. */
export interface HelloMessage {
  type: 'hello';
  version: number;
  /** See `hostId()`; the server uses shared memory only when it equals its own. */
  hostId: string;
  pid: number;
  /** The client's uid, or -1 when unknown (Windows). */
  uid: number;
  /** Preferred ring capacity in bytes: a power of two in [4096, 2^30], or 0 for no preference. */
  ringSize: number;
  transport: TransportChoice;
  /** The client can take the region as a descriptor over the control socket (Linux, Unix socket). */
  fdPassing?: boolean;
}

/** Server → client: map this region and prove it by echoing `token`. */
export interface MapInfoMessage {
  type: 'mapinfo';
  version: number;
  /** The shared-memory object's name (unlinked by the server after ACK). */
  name: string;
  /** Total region bytes. */
  size: number;
  /** Capacity of each ring, a power of two. */
  ringSize: number;
  token: Uint8Array;
  serverPid: number;
  /**
   * The region is a sealed memfd that has no name: the client answers
   * FDREADY, stops reading the socket, and receives the descriptor with
   * SCM_RIGHTS. `name` is then only a label.
   */
  fd?: boolean;
}

/** Server → client: no shared memory; use the socket as the byte stream. */
export interface FallbackMessage {
  type: 'fallback';
  version: number;
  reason: string;
}

/** Either direction: the handshake failed; the connection will close. */
export interface RejectMessage {
  type: 'reject';
  version: number;
  /** A `SHMNET_ERR_*` code. */
  code: string;
  message: string;
}

/** Client → server: the region is mapped and its token matched. */
export interface AckMessage {
  type: 'ack';
  version: number;
  token: Uint8Array;
}

/** Client → server: not reading the socket any more; send the descriptor now. */
export interface FdReadyMessage {
  type: 'fdready';
  version: number;
}

/** Client → server: the region could not be mapped. */
export interface NackMessage {
  type: 'nack';
  version: number;
  reason: string;
}

export type ServerReply = MapInfoMessage | FallbackMessage | RejectMessage;
export type ClientReply = AckMessage | NackMessage | RejectMessage | FdReadyMessage;
export type HandshakeMessage = HelloMessage | ServerReply | ClientReply;
export type HandshakeMessageType = HandshakeMessage['type'];

// ---- validation ------------------------------------------------------------

type MakeError = (message: string) => Error;

const peerError: MakeError = (message) => new ShmnetError(codes.HANDSHAKE, `handshake: ${message}`);
const callerError: MakeError = (message) => invalidArg(`cannot encode handshake message: ${message}`);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? `a string of length ${v.length}` : JSON.stringify(v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'undefined':
      return 'nothing';
    default:
      return `a value of type ${typeof v}`;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Reads fields of one message, failing with the message type and field name. */
class Fields {
  constructor(
    readonly obj: Record<string, unknown>,
    readonly type: string,
    readonly fail: MakeError,
  ) {}

  #get(name: string): unknown {
    // own properties only: a missing field must not be found on a prototype
    return Object.prototype.hasOwnProperty.call(this.obj, name) ? this.obj[name] : undefined;
  }

  #bad(name: string, want: string, got: unknown): Error {
    return this.fail(`${this.type}.${name} must be ${want}, got ${describe(got)}`);
  }

  string(name: string, maxLength: number, minLength = 0): string {
    const v = this.#get(name);
    if (typeof v !== 'string' || v.length < minLength || v.length > maxLength) {
      const want = minLength > 0 ? `a string of ${minLength} to ${maxLength} characters` : `a string of at most ${maxLength} characters`;
      throw this.#bad(name, want, v);
    }
    return v;
  }

  int(name: string, min: number, max: number): number {
    const v = this.#get(name);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw this.#bad(name, `an integer between ${min} and ${max}`, v);
    }
    return v;
  }

  ringSize(name: string, allowZero: boolean): number {
    const v = this.#get(name);
    const ok =
      typeof v === 'number' &&
      ((allowZero && v === 0) ||
        isValidCapacity(v));
    if (!ok) {
      const want = `a power of two between ${MIN_CAPACITY} and ${MAX_CAPACITY}${allowZero ? ' or 0' : ''}`;
      throw this.#bad(name, want, v);
    }
    return v;
  }

  token(name: string): Uint8Array {
    const v = this.#get(name);
    if (!(v instanceof Uint8Array) || v.length !== TOKEN_LENGTH) {
      throw this.#bad(name, `${TOKEN_LENGTH} bytes`, v);
    }
    // a copy of our own: the caller's or decoder's array may be reused
    return Uint8Array.prototype.slice.call(v);
  }

  oneOf<T extends string>(name: string, values: readonly string[]): T {
    const v = this.#get(name);
    if (typeof v !== 'string' || !values.includes(v)) {
      throw this.#bad(name, `one of ${values.map((s) => `'${s}'`).join(', ')}`, v);
    }
    return v as T;
  }

  shmName(name: string): string {
    const v = this.string(name, MAX_SHM_NAME_LENGTH, 1);
    const bare = v.startsWith('/') ? v.slice(1) : v;
    if (!SHM_NAME_RE.test(v) || bare === '.' || bare === '..') {
      throw this.#bad(name, 'a shared-memory object name (an optional / then [A-Za-z0-9._-]+)', v);
    }
    return v;
  }

  /** An optional boolean: absent means false. */
  flag(name: string): boolean {
    const v = this.#get(name);
    if (v === undefined) return false;
    if (typeof v !== 'boolean') throw this.#bad(name, 'a boolean', v);
    return v;
  }

  errorCode(name: string): string {
    const v = this.string(name, MAX_CODE_LENGTH, 1);
    if (!ERROR_CODE_RE.test(v)) throw this.#bad(name, "a code starting with 'SHMNET_ERR_'", v);
    return v;
  }
}

const ALL_TYPES: readonly HandshakeMessageType[] = ['hello', 'mapinfo', 'fallback', 'reject', 'ack', 'nack', 'fdready'];

function check(v: unknown, allowed: readonly HandshakeMessageType[], what: string, fail: MakeError): HandshakeMessage {
  if (!isRecord(v)) throw fail(`expected ${what} (a map), got ${describe(v)}`);
  const rawType = Object.prototype.hasOwnProperty.call(v, 'type') ? v.type : undefined;
  if (typeof rawType !== 'string' || !(allowed as readonly string[]).includes(rawType)) {
    throw fail(`expected ${what} (type ${allowed.map((s) => `'${s}'`).join(' | ')}), got type ${describe(rawType)}`);
  }
  const type = rawType as HandshakeMessageType;
  const f = new Fields(v, type, fail);
  const version = f.int('version', 0, Number.MAX_SAFE_INTEGER);
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw fail(`unsupported version ${version} in ${type} (supported: ${SUPPORTED_VERSIONS.join(', ')})`);
  }
  switch (type) {
    case 'hello':
      return {
        type,
        version,
        hostId: f.string('hostId', MAX_HOST_ID_LENGTH, 1),
        pid: f.int('pid', 0, MAX_PID),
        uid: f.int('uid', -1, 0xffffffff),
        ringSize: f.ringSize('ringSize', true),
        transport: f.oneOf<TransportChoice>('transport', TRANSPORT_CHOICES),
        fdPassing: f.flag('fdPassing'),
      };
    case 'mapinfo':
      return {
        type,
        version,
        name: f.shmName('name'),
        size: f.int('size', 1, MAX_RING_REGION_SIZE),
        ringSize: f.ringSize('ringSize', false),
        token: f.token('token'),
        serverPid: f.int('serverPid', 0, MAX_PID),
        fd: f.flag('fd'),
      };
    case 'fallback':
      return { type, version, reason: f.string('reason', MAX_REASON_LENGTH) };
    case 'reject':
      return { type, version, code: f.errorCode('code'), message: f.string('message', MAX_MESSAGE_LENGTH) };
    case 'ack':
      return { type, version, token: f.token('token') };
    case 'nack':
      return { type, version, reason: f.string('reason', MAX_REASON_LENGTH) };
    case 'fdready':
      return { type, version };
  }
}

// ---- public API ------------------------------------------------------------

/**
 * Validates a decoded frame as a HELLO.
 * @throws ShmnetError `SHMNET_ERR_HANDSHAKE` naming the bad field.
 */
export function parseHello(v: unknown): HelloMessage {
  return check(v, ['hello'], 'a HELLO', peerError) as HelloMessage;
}

/**
 * Validates a decoded frame as the server's reply to HELLO.
 * @throws ShmnetError `SHMNET_ERR_HANDSHAKE` naming the bad field.
 */
export function parseServerReply(v: unknown): ServerReply {
  return check(v, ['mapinfo', 'fallback', 'reject'], 'a server reply', peerError) as ServerReply;
}

/**
 * Validates a decoded frame as the client's reply to MAPINFO.
 * @throws ShmnetError `SHMNET_ERR_HANDSHAKE` naming the bad field.
 */
export function parseClientReply(v: unknown): ClientReply {
  return check(v, ['ack', 'nack', 'reject', 'fdready'], 'a client reply', peerError) as ClientReply;
}

/**
 * Validates a decoded frame as any handshake message.
 * @throws ShmnetError `SHMNET_ERR_HANDSHAKE` naming the bad field.
 */
export function parseMessage(v: unknown): HandshakeMessage {
  return check(v, ALL_TYPES, 'a handshake message', peerError);
}

/**
 * Encodes a message as one frame (length prefix included). Only the
 * message's own fields are sent.
 * @throws ShmnetTypeError `SHMNET_ERR_INVALID_ARG` when `m` would not pass
 *   the peer's validator.
 */
export function encodeMessage(m: HandshakeMessage): Buffer {
  return encodeFrame(check(m, ALL_TYPES, 'a handshake message', callerError));
}
