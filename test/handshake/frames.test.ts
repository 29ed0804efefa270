import t from 'tap';
import { Packr } from 'msgpackr';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_SIZE,
  FrameReader,
  encodeFrame,
  type FrameValue,
} from '../../src/handshake/frames.js';
import { ShmnetError } from '../../src/errors.js';

const HANDSHAKE = { code: 'SHMNET_ERR_HANDSHAKE' };

/** A frame around raw body bytes, bypassing encodeFrame's checks. */
function rawFrame(body: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function drain(r: FrameReader): FrameValue[] {
  const out: FrameValue[] = [];
  for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
  return out;
}

const samples: FrameValue[] = [
  null,
  true,
  false,
  0,
  -1,
  42,
  2 ** 31,
  2 ** 40,
  -(2 ** 40),
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  1.5,
  '',
  'hello',
  'ünïcødé ✓ 🚀',
  'x'.repeat(1000),
  Buffer.from([]),
  Buffer.from([0, 1, 2, 255]),
  [],
  [1, 'two', [3, null]],
  {},
  { type: 'hello', nested: { a: [1, 2, { b: Buffer.from('zz') }] } },
];

t.test('encodeFrame/FrameReader round-trip plain values', async (t) => {
  for (const v of samples) {
    const f = encodeFrame(v);
    t.equal(f.readUInt32BE(0), f.length - FRAME_HEADER_SIZE, 'length prefix is the body length');
    const r = new FrameReader();
    r.push(f);
    t.same(r.next(), v);
    t.equal(r.next(), undefined);
    t.equal(r.bufferedBytes, 0);
    t.equal(r.takeRest().length, 0);
  }
});

t.test('maps decode as plain objects, bin as Uint8Array copies', async (t) => {
  const chunk = encodeFrame({ a: 1, token: Buffer.alloc(16, 7) });
  const r = new FrameReader();
  r.push(chunk);
  const v = r.next() as Record<string, FrameValue>;
  t.equal(Object.getPrototypeOf(v), Object.prototype);
  t.ok(v.token instanceof Uint8Array);
  chunk.fill(0); // the decoded token must not alias the pushed chunk
  t.same(Buffer.from(v.token as Uint8Array), Buffer.alloc(16, 7));
});

t.test('a plain Uint8Array chunk is accepted', async (t) => {
  const f = encodeFrame({ x: 'y' });
  const r = new FrameReader();
  r.push(new Uint8Array(f));
  t.same(r.next(), { x: 'y' });
});

t.test('one byte at a time decodes identically', async (t) => {
  const values: FrameValue[] = samples;
  const stream = Buffer.concat(values.map((v) => encodeFrame(v)));
  const r = new FrameReader();
  const got: FrameValue[] = [];
  for (let i = 0; i < stream.length; i++) {
    r.push(stream.subarray(i, i + 1));
    got.push(...drain(r));
    t.ok(r.bufferedBytes <= DEFAULT_MAX_FRAME_SIZE + 4);
  }
  t.same(got, values);
  t.equal(r.bufferedBytes, 0);
});

t.test('split at every byte boundary', async (t) => {
  const f = encodeFrame({ type: 'mapinfo', name: '/shmnet-1-abc', token: Buffer.alloc(16, 3) });
  const rest = Buffer.from('data-phase');
  const all = Buffer.concat([f, rest]);
  for (let i = 0; i <= all.length; i++) {
    const r = new FrameReader();
    r.push(all.subarray(0, i));
    const first = r.next();
    r.push(all.subarray(i));
    const v = first ?? r.next();
    t.same(v, { type: 'mapinfo', name: '/shmnet-1-abc', token: Buffer.alloc(16, 3) }, `split at ${i}`);
    t.same(r.takeRest(), rest, `rest after split at ${i}`);
  }
});

t.test('several frames plus data-phase bytes in one chunk', async (t) => {
  const data = Buffer.from([0, 0, 0xff, 0xff, 1, 2, 3]); // would be a bad header if read as a frame
  const chunk = Buffer.concat([encodeFrame({ n: 1 }), encodeFrame({ n: 2 }), encodeFrame('three'), data]);
  const r = new FrameReader();
  r.push(chunk);
  t.same(r.next(), { n: 1 });
  t.same(r.next(), { n: 2 });
  t.same(r.next(), 'three');
  t.equal(r.bufferedBytes, data.length);
  const rest = r.takeRest();
  t.same(rest, data);
  t.equal(r.bufferedBytes, 0);
  t.equal(r.takeRest().length, 0, 'rest is handed out once');
  t.equal(r.next(), undefined);
});

t.test('data-phase bytes spread over later chunks are kept in order', async (t) => {
  const r = new FrameReader();
  const f = encodeFrame({ type: 'fallback' });
  r.push(f.subarray(0, 3));
  r.push(Buffer.concat([f.subarray(3), Buffer.from('ab')]));
  t.same(r.next(), { type: 'fallback' });
  r.push(Buffer.from('cd'));
  r.push(Buffer.from('ef'));
  t.equal(r.takeRest().toString(), 'abcdef');
});

t.test('bytes pushed after the final frame are not examined', async (t) => {
  const r = new FrameReader();
  r.push(encodeFrame({ type: 'ack' }));
  t.same(r.next(), { type: 'ack' });
  // a zero length and an over-limit length: fatal if read as frames
  const data = Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  r.push(data.subarray(0, 3));
  r.push(data.subarray(3));
  t.same(r.takeRest(), data);
  // but asking for another frame examines them
  const r2 = new FrameReader();
  r2.push(Buffer.concat([encodeFrame(1), data]));
  t.equal(r2.next(), 1);
  t.throws(() => r2.next(), HANDSHAKE);
});

t.test('while a frame is awaited, push checks its prefix', async (t) => {
  const r = new FrameReader({ maxFrameSize: 16 });
  r.push(encodeFrame('a'));
  t.equal(r.next(), 'a');
  t.equal(r.next(), undefined, 'now waiting');
  t.throws(() => r.push(Buffer.from([0, 0, 0, 17])), HANDSHAKE);
});

t.test('incomplete frames return undefined', async (t) => {
  const f = encodeFrame({ a: 'b' });
  const r = new FrameReader();
  t.equal(r.next(), undefined, 'empty');
  r.push(Buffer.alloc(0));
  t.equal(r.bufferedBytes, 0);
  r.push(f.subarray(0, 2));
  t.equal(r.next(), undefined, 'half a header');
  r.push(f.subarray(2, f.length - 1));
  t.equal(r.next(), undefined, 'one byte short');
  t.equal(r.bufferedBytes, f.length - 1);
  r.push(f.subarray(f.length - 1));
  t.same(r.next(), { a: 'b' });
});

t.test('announced length over the limit throws before the bytes arrive', async (t) => {
  const max = 1024;
  const r = new FrameReader({ maxFrameSize: max });
  const header = Buffer.alloc(4);
  header.writeUInt32BE(max + 1, 0);
  t.throws(() => r.push(header), HANDSHAKE);
  t.ok(r.bufferedBytes <= max + 4);
  t.equal(r.bufferedBytes, 0, 'bytes dropped on error');
  // the error is sticky
  t.throws(() => r.push(Buffer.alloc(10)), HANDSHAKE);
  t.throws(() => r.next(), HANDSHAKE);
  t.throws(() => r.takeRest(), HANDSHAKE);
});

t.test('a partial length prefix already over the limit throws', async (t) => {
  const r = new FrameReader(); // 16 KiB: any non-zero first byte is >= 16 MiB
  t.throws(() => r.push(Buffer.from([0x01])), HANDSHAKE);
  const r2 = new FrameReader();
  r2.push(Buffer.from([0x00, 0x00]));
  t.throws(() => r2.push(Buffer.from([0x41])), /exceeds the limit/);
  const r3 = new FrameReader();
  r3.push(Buffer.from([0x00, 0x00, 0x40])); // 0x4000xx: >= 16 KiB, could be exactly 16 KiB
  t.equal(r3.next(), undefined);
  t.equal(r3.bufferedBytes, 3);
  t.throws(() => r3.push(Buffer.from([0x01])), HANDSHAKE);
  t.throws(() => r3.next(), HANDSHAKE);
});

t.test('an over-limit frame after a good one throws when reached', async (t) => {
  const r = new FrameReader({ maxFrameSize: 100 });
  const bad = Buffer.alloc(4);
  bad.writeUInt32BE(101, 0);
  r.push(Buffer.concat([encodeFrame('ok'), bad]));
  t.equal(r.next(), 'ok');
  t.throws(() => r.next(), HANDSHAKE);
  t.equal(r.bufferedBytes, 0);
});

t.test('frames of exactly maxFrameSize are accepted', async (t) => {
  const max = 64;
  // str8 header (2 bytes) + 62 chars = 64-byte body
  const value = 'q'.repeat(62);
  const f = encodeFrame(value, max);
  t.equal(f.length, max + 4);
  const r = new FrameReader({ maxFrameSize: max });
  for (const b of f) {
    r.push(Buffer.from([b]));
    t.ok(r.bufferedBytes <= max + 4);
  }
  t.equal(r.next(), value);
  t.throws(() => encodeFrame('q'.repeat(63), max), { code: 'SHMNET_ERR_MESSAGE_TOO_LARGE' });
  t.throws(() => encodeFrame('q'.repeat(DEFAULT_MAX_FRAME_SIZE)), RangeError);
});

t.test('length 0 is malformed', async (t) => {
  const r = new FrameReader();
  t.throws(() => r.push(Buffer.from([0, 0, 0, 0, 0xc0])), HANDSHAKE);
  t.throws(() => r.next(), /announced length 0/);
});

t.test('garbage msgpack is malformed, with the cause attached', async (t) => {
  const bodies: [string, number[]][] = [
    ['truncated array', [0x92, 0x01]],
    ['truncated str', [0xa5, 0x61]],
    ['map with short length', [0x81, 0xa1, 0x61]],
    ['unknown extension', [0xd4, 0x33, 0x00]],
    ['str32 claiming 4 GiB', [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
    ['array32 claiming 4 G entries', [0xdd, 0xff, 0xff, 0xff, 0xff]],
  ];
  for (const [name, body] of bodies) {
    const r = new FrameReader();
    r.push(rawFrame(Buffer.from(body)));
    let err: unknown;
    try {
      r.next();
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ShmnetError, name);
    t.equal((err as ShmnetError).code, 'SHMNET_ERR_HANDSHAKE', name);
    t.ok((err as Error).cause instanceof Error, `${name}: cause attached`);
  }
});

t.test('trailing bytes inside a frame are malformed', async (t) => {
  const r = new FrameReader();
  r.push(rawFrame(Buffer.from([0xc0, 0xc0])));
  t.throws(() => r.next(), HANDSHAKE);
  const r2 = new FrameReader();
  const body = Buffer.concat([new Packr({ useRecords: false }).pack({ a: 1 }), Buffer.from([0])]);
  r2.push(rawFrame(body));
  t.throws(() => r2.next(), HANDSHAKE);
});

t.test('values other than plain data are malformed', async (t) => {
  const rich = new Packr({ moreTypes: true, structuredClone: true, useRecords: false });
  const values: unknown[] = [
    undefined,
    [1, undefined],
    new Date(0),
    new Set([1]),
    new Error('boom'),
    /re/g,
    new Uint16Array(4),
    new Float64Array(1),
    2n ** 70n,
  ];
  for (const v of values) {
    const r = new FrameReader();
    r.push(rawFrame(rich.pack(v)));
    t.throws(() => r.next(), HANDSHAKE, `rejects ${Object.prototype.toString.call(v)}`);
  }
  // a msgpack map with non-string keys still decodes as a plain object
  const m = new FrameReader();
  m.push(rawFrame(rich.pack(new Map([[1, 2]]))));
  const got = m.next();
  t.equal(Object.getPrototypeOf(got), Object.prototype);
  t.same(got, { 1: 2 });
  // 0xc1 ("never used") decodes to msgpackr's C1 marker object
  const r = new FrameReader();
  r.push(rawFrame(Buffer.from([0xc1])));
  t.throws(() => r.next(), HANDSHAKE);
});

t.test('deep nesting is malformed, never a stack overflow', async (t) => {
  for (const depth of [40, 5000, DEFAULT_MAX_FRAME_SIZE - 1]) {
    const body = Buffer.alloc(depth + 1, 0x91); // [[[[...]]]]
    body[depth] = 0xc0;
    const r = new FrameReader();
    r.push(rawFrame(body));
    t.throws(() => r.next(), HANDSHAKE, `depth ${depth}`);
  }
});

t.test('encodeFrame rejects what the reader would reject', async (t) => {
  const INVALID = { code: 'SHMNET_ERR_INVALID_ARG' };
  t.throws(() => encodeFrame(undefined), INVALID);
  t.throws(() => encodeFrame({ a: undefined }), INVALID);
  t.throws(() => encodeFrame(new Date()), INVALID);
  t.throws(() => encodeFrame(new Map()), INVALID);
  t.throws(() => encodeFrame(10n), INVALID);
  t.throws(() => encodeFrame(() => 1), INVALID);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.throws(() => encodeFrame(cyclic), INVALID);
  t.throws(() => encodeFrame('x', 0), INVALID);
  t.throws(() => encodeFrame('x', 1.5), INVALID);
  t.ok(encodeFrame(Object.assign(Object.create(null), { a: 1 })).length > 4, 'null-prototype objects are plain');
});

t.test('FrameReader argument checks', async (t) => {
  const INVALID = { code: 'SHMNET_ERR_INVALID_ARG' };
  t.throws(() => new FrameReader({ maxFrameSize: 0 }), INVALID);
  t.throws(() => new FrameReader({ maxFrameSize: -5 }), INVALID);
  t.throws(() => new FrameReader({ maxFrameSize: NaN }), INVALID);
  t.equal(new FrameReader().maxFrameSize, DEFAULT_MAX_FRAME_SIZE);
  const r = new FrameReader();
  t.throws(() => r.push('abc' as unknown as Buffer), INVALID);
  t.equal(r.next(), undefined, 'a caller mistake does not poison the reader');
});
