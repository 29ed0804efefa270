import t from 'tap';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import {
  FrameReader,
  encodeFrame,
  encodeMessage,
  hostId,
  parseClientReply,
  parseHello,
  parseMessage,
  parseServerReply,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type HandshakeMessage,
} from '../../src/handshake/index.js';
import { ShmnetError } from '../../src/errors.js';

const HANDSHAKE = { code: 'SHMNET_ERR_HANDSHAKE' };
const INVALID = { code: 'SHMNET_ERR_INVALID_ARG' };
const V = PROTOCOL_VERSION;

const token = () => Buffer.from('0123456789abcdef');

const valid: Record<HandshakeMessage['type'], HandshakeMessage> = {
  hello: { type: 'hello', version: V, hostId: 'box:1234-5678', pid: 4321, uid: 1000, ringSize: 65536, transport: 'auto', fdPassing: false },
  mapinfo: {
    type: 'mapinfo',
    version: V,
    name: '/shmnet-4321-Zx_9.a',
    size: 4096 + 2 * (4096 + 65536),
    ringSize: 65536,
    token: token(),
    serverPid: 99,
    fd: false,
  },
  fallback: { type: 'fallback', version: V, reason: 'different host' },
  reject: { type: 'reject', version: V, code: 'SHMNET_ERR_HANDSHAKE', message: 'bad hello' },
  ack: { type: 'ack', version: V, token: token() },
  nack: { type: 'nack', version: V, reason: 'shm_open failed: ENOENT' },
  fdready: { type: 'fdready', version: V },
};

/** Fields a peer may leave out (absent means false). */
const OPTIONAL_FIELDS = new Set(['fdPassing', 'fd']);

const parserFor = {
  hello: parseHello,
  mapinfo: parseServerReply,
  fallback: parseServerReply,
  reject: parseServerReply,
  ack: parseClientReply,
  nack: parseClientReply,
  fdready: parseClientReply,
} as const;

function decode(frame: Buffer): unknown {
  const r = new FrameReader();
  r.push(frame);
  const v = r.next();
  if (v === undefined || r.takeRest().length !== 0) throw new Error('expected exactly one frame');
  return v;
}

function withField(m: HandshakeMessage, key: string, value: unknown): Record<string, unknown> {
  return { ...m, [key]: value };
}

function without(m: HandshakeMessage, key: string): Record<string, unknown> {
  const o: Record<string, unknown> = { ...m };
  delete o[key];
  return o;
}

/** Wrong values for each field, beyond "missing". */
const badValues: Record<string, unknown[]> = {
  type: [null, 1, 'HELLO', 'bogus', '', Buffer.from('hello')],
  version: [null, '1', 1.5, -1, NaN, Infinity, [1], true],
  hostId: [null, 1, '', 'h'.repeat(257), ['a'], { s: 'a' }, Buffer.from('a')],
  pid: [null, '1', -1, 1.5, 2 ** 31, NaN, 2 ** 53, true],
  uid: [null, '0', -2, 0.5, 2 ** 32, NaN],
  ringSize: [null, '65536', -4096, 1, 2048, 4095, 4097, 3 * 4096, 2 ** 31, 2 ** 30 + 4096, NaN, 65536.5],
  transport: [null, 0, 'AUTO', 'udp', '', ['tcp']],
  name: [null, 1, '', '/', 'a/b', '//a', '../x', '.', '..', '/..', 'with space', 'ü', 'n'.repeat(65), Buffer.from('n')],
  size: [null, '1', 0, -1, 1.5, 2 ** 31 + 2 ** 21, NaN],
  token: [null, 'x'.repeat(16), Buffer.alloc(15), Buffer.alloc(17), Array(16).fill(0), { length: 16 }],
  serverPid: [null, '1', -1, 2 ** 31],
  reason: [null, 1, 'r'.repeat(257), ['r']],
  code: [null, 1, '', 'ERR_X', 'SHMNET_ERR_', 'shmnet_err_x', 'SHMNET_ERR_bad lower', 'SHMNET_ERR_' + 'X'.repeat(54)],
  message: [null, 1, 'm'.repeat(1025), {}],
};

t.test('constants', async (t) => {
  t.equal(PROTOCOL_VERSION, 1);
  t.same(SUPPORTED_VERSIONS, [1]);
  t.ok(Object.isFrozen(SUPPORTED_VERSIONS));
});

t.test('every message round-trips through a frame', async (t) => {
  for (const [type, m] of Object.entries(valid)) {
    const parse = parserFor[type as keyof typeof parserFor];
    const got = parse(decode(encodeMessage(m)));
    t.same(got, m, type);
    t.equal(got.type, type);
    t.same(parseMessage(decode(encodeMessage(m))), m, `${type} via parseMessage`);
    if ('token' in got) {
      t.ok(got.token instanceof Uint8Array);
      t.equal(got.token.length, 16);
    }
  }
});

t.test('limits are inclusive', async (t) => {
  const edge: HandshakeMessage[] = [
    { ...valid.hello, hostId: 'h'.repeat(256), pid: 0, uid: -1, ringSize: 0, transport: 'tcp' } as HandshakeMessage,
    { ...valid.hello, pid: 2 ** 31 - 1, uid: 2 ** 32 - 1, ringSize: 2 ** 30, transport: 'shm' } as HandshakeMessage,
    { ...valid.hello, ringSize: 4096 } as HandshakeMessage,
    { ...valid.mapinfo, name: 'n'.repeat(64), size: 1, ringSize: 4096 } as HandshakeMessage,
    { ...valid.mapinfo, name: 'a.b-c_D9', size: 2 ** 31 + 2 ** 20, ringSize: 2 ** 30 } as HandshakeMessage,
    { ...valid.fallback, reason: '' } as HandshakeMessage,
    { ...valid.fallback, reason: 'r'.repeat(256) } as HandshakeMessage,
    { ...valid.reject, code: 'SHMNET_ERR_' + 'X'.repeat(53), message: 'm'.repeat(1024) } as HandshakeMessage,
    { ...valid.nack, reason: 'r'.repeat(256) } as HandshakeMessage,
  ];
  for (const m of edge) t.same(parseMessage(decode(encodeMessage(m))), m);
});

t.test('unknown extra fields are ignored and not sent', async (t) => {
  for (const m of Object.values(valid)) {
    const extra = { ...m, future: { x: [1, 2] }, another: 'field' };
    const parsed = parseMessage(extra);
    t.same(parsed, m);
    t.notOk('future' in parsed);
    const decoded = decode(encodeMessage(extra as HandshakeMessage)) as Record<string, unknown>;
    t.notOk('future' in decoded, `${m.type}: extras stripped on encode`);
  }
});

t.test('each validator rejects each missing or mistyped field', async (t) => {
  for (const [type, m] of Object.entries(valid)) {
    const parse = parserFor[type as keyof typeof parserFor];
    for (const key of Object.keys(m)) {
      if (OPTIONAL_FIELDS.has(key)) continue;
      const missing = without(m, key);
      t.throws(() => parse(missing), HANDSHAKE, `${type} without ${key}`);
      t.throws(() => parse(missing), new RegExp(key === 'type' ? 'type' : `${type}\\.${key}`), `${type}: error names ${key}`);
      t.throws(() => parseMessage(missing), HANDSHAKE);
      t.throws(() => encodeMessage(missing as unknown as HandshakeMessage), INVALID, `encode ${type} without ${key}`);
      for (const bad of badValues[key] ?? []) {
        const msg = withField(m, key, bad);
        t.throws(() => parse(msg), HANDSHAKE, `${type}.${key} = ${String(bad).slice(0, 20)}`);
        t.throws(() => parseMessage(msg), HANDSHAKE);
        // and the same after a trip over the wire
        t.throws(() => parse(decode(encodeFrame(msg))), HANDSHAKE);
        t.throws(() => encodeMessage(msg as unknown as HandshakeMessage), TypeError);
      }
    }
  }
});

t.test('errors are ShmnetErrors naming the field and the bad value', async (t) => {
  let err: unknown;
  try {
    parseHello(withField(valid.hello, 'pid', 'abc'));
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ShmnetError);
  t.match((err as Error).message, /hello\.pid must be an integer .*got "abc"/);
});

t.test('a field on the prototype does not count', async (t) => {
  const inherited = Object.create({ ...valid.fallback }) as object;
  t.throws(() => parseServerReply(inherited), HANDSHAKE);
  const nullProto = Object.assign(Object.create(null), valid.fallback) as object;
  t.same(parseServerReply(nullProto), valid.fallback);
});

t.test('non-maps and messages for the other direction are rejected', async (t) => {
  for (const v of [undefined, null, 0, 'hello', [valid.hello], Buffer.from('x'), new Map(Object.entries(valid.hello))]) {
    t.throws(() => parseHello(v), HANDSHAKE);
    t.throws(() => parseServerReply(v), HANDSHAKE);
    t.throws(() => parseClientReply(v), HANDSHAKE);
    t.throws(() => parseMessage(v), HANDSHAKE);
  }
  t.throws(() => parseHello(valid.mapinfo), HANDSHAKE);
  t.throws(() => parseServerReply(valid.hello), HANDSHAKE);
  t.throws(() => parseServerReply(valid.ack), HANDSHAKE);
  t.throws(() => parseClientReply(valid.mapinfo), /expected a client reply/);
  t.throws(() => parseClientReply(valid.fallback), HANDSHAKE);
  t.equal(parseServerReply(valid.reject).type, 'reject');
  t.equal(parseClientReply(valid.reject).type, 'reject');
});

t.test('unsupported version', async (t) => {
  for (const m of Object.values(valid)) {
    for (const version of [0, 2, 99]) {
      const msg = withField(m, 'version', version);
      t.throws(() => parseMessage(msg), HANDSHAKE);
      t.throws(() => parseMessage(msg), /unsupported version/);
      t.throws(() => encodeMessage(msg as unknown as HandshakeMessage), INVALID);
    }
  }
});

t.test('parsed tokens are copies', async (t) => {
  const raw = { ...valid.ack, token: token() };
  const parsed = parseClientReply(raw);
  raw.token.fill(0);
  t.same(Buffer.from((parsed as { token: Uint8Array }).token), token());
  // a plain Uint8Array token is accepted and encoded as bin
  const u8 = { ...valid.ack, token: new Uint8Array(token()) } as HandshakeMessage;
  t.same(Buffer.from((parseClientReply(decode(encodeMessage(u8))) as { token: Uint8Array }).token), token());
});

t.test('hostId', async (t) => {
  const saved = process.env.SHMNET_HOST_ID;
  t.teardown(() => {
    if (saved === undefined) delete process.env.SHMNET_HOST_ID;
    else process.env.SHMNET_HOST_ID = saved;
  });
  delete process.env.SHMNET_HOST_ID;
  const id = hostId();
  t.equal(hostId(), id, 'memoized');
  t.ok(id.startsWith(`${os.hostname()}:`));
  t.ok(id.length > os.hostname().length + 1 && id.length <= 256);
  let bootId: string | undefined;
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  } catch {
    bootId = undefined;
  }
  if (process.platform === 'linux' && bootId) t.equal(id, `${os.hostname()}:${bootId}`);
  else t.match(id, /:boot-\d+$/);
  t.same(parseHello({ ...valid.hello, hostId: id }).hostId, id, 'a real id passes the validator');

  process.env.SHMNET_HOST_ID = 'elsewhere';
  t.equal(hostId(), 'elsewhere', 'env override, read on each call');
  process.env.SHMNET_HOST_ID = 'elsewhere-2';
  t.equal(hostId(), 'elsewhere-2');
  process.env.SHMNET_HOST_ID = '';
  t.equal(hostId(), id, 'empty override is ignored');
  process.env.SHMNET_HOST_ID = 'x'.repeat(257);
  t.throws(() => hostId(), INVALID);
  delete process.env.SHMNET_HOST_ID;
  t.equal(hostId(), id);
});

t.test('optional flags: fdPassing in HELLO and fd in MAPINFO', async (t) => {
  const hello = parseHello(decode(encodeMessage({ ...valid.hello, fdPassing: true } as HandshakeMessage)));
  t.equal((hello as { fdPassing?: boolean }).fdPassing, true);
  const { fdPassing: _omit, ...older } = valid.hello as unknown as Record<string, unknown>;
  t.equal((parseHello(older) as { fdPassing?: boolean }).fdPassing, false, 'absent means false (older peers)');
  t.throws(() => parseHello({ ...valid.hello, fdPassing: 1 }), HANDSHAKE);
  t.throws(() => parseServerReply({ ...valid.mapinfo, fd: 'yes' }), HANDSHAKE);
  t.equal((parseServerReply({ ...valid.mapinfo, fd: true }) as { fd?: boolean }).fd, true);
  t.throws(() => parseServerReply(valid.fdready), HANDSHAKE, 'FDREADY is a client reply only');
});
