/**
 * MessageConn in one process: values round-trip over a Conn (a worker
 * channel, both ends in this thread); the frame parser against every
 * split of the byte stream (fast-check) and against hostile frames;
 * backpressure and pause/resume; argument checks. Records mode: shapes
 * beyond the sender's 64 ids, mixed with maps, a receiver that did not opt
 * in, a dropped frame's definitions, and hostile definitions.
 */
import t from 'tap';
import fc from 'fast-check';
import assert from 'node:assert';
import { Duplex } from 'node:stream';
import { Packr } from 'msgpackr';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { MessageConn, type MessageConnOptions } from '../../src/message/index.js';
import { RECORDS_FLAG, RECORD_SLOTS } from '../../src/message/codec.js';

function pair(maxMessageSize?: number, a0: MessageConnOptions = {}, b0: MessageConnOptions = a0): [MessageConn, MessageConn] {
  const { port1, port2 } = createChannel({ ringSize: 64 * 1024 });
  const size = maxMessageSize === undefined ? {} : { maxMessageSize };
  const a = new MessageConn(openChannel(port1), { ...size, ...a0 });
  const b = new MessageConn(openChannel(port2), { ...size, ...b0 });
  t.teardown(() => {
    a.destroy();
    b.destroy();
  });
  return [a, b];
}

function collect(mc: MessageConn, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  return new Promise((resolve, reject) => {
    mc.on('message', (v) => {
      out.push(v);
      if (out.length === n) resolve(out);
    });
    mc.on('error', reject);
  });
}

/** A Duplex whose incoming bytes the test pushes by hand, chunk by chunk. */
function rawStream(): Duplex & { written: Buffer[] } {
  const written: Buffer[] = [];
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  }) as Duplex & { written: Buffer[] };
  d.written = written;
  return d;
}

const packr = new Packr({ useRecords: false });
function frame(value: unknown): Buffer {
  const body = packr.pack(value);
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

t.test('values round-trip over a Conn', async (t) => {
  const [a, b] = pair();
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    2 ** 53 - 1,
    3.25,
    '',
    'héllo wörld ✓',
    [1, [2, [3]]],
    { nested: { list: [1, 'two', { three: 3 }] }, empty: {} },
    new Uint8Array([1, 2, 3]),
    'x'.repeat(200_000),
    { big: Buffer.alloc(3 * 1024 * 1024, 7) },
  ];
  const got = collect(b, values.length);
  for (const v of values) a.send(v);
  const out = await got;
  for (let i = 0; i < values.length; i++) {
    const want = values[i];
    if (want instanceof Uint8Array) t.same(Buffer.from(out[i] as Uint8Array), Buffer.from(want), `value ${i}`);
    else if (i === values.length - 1) t.ok(Buffer.from((out[i] as { big: Uint8Array }).big).equals((want as { big: Buffer }).big), 'a 3 MiB value, split across many chunks');
    else t.same(out[i], want, `value ${i}`);
  }
  t.equal(a.messagesSent, values.length);
  t.equal(b.messagesReceived, values.length);
});

t.test('non-finite doubles keep their exact value; -0 arrives as 0 (as documented)', async (t) => {
  const [a, b] = pair();
  const values = [-Infinity, Infinity, NaN, 0.1, { '': -Infinity }, -0];
  const got = collect(b, values.length);
  for (const v of values) a.send(v);
  const out = await got;
  for (let i = 0; i < 4; i++) t.ok(Object.is(out[i], values[i]), `${String(values[i])} arrives as ${String(out[i])}`);
  t.ok(Object.is((out[4] as Record<string, number>)[''], -Infinity), 'inside a map too');
  t.ok(Object.is(out[5], 0), 'msgpackr writes -0 as the integer 0');
});

t.test('every split of the byte stream decodes to the same values', async (t) => {
  const value = fc.oneof(
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string(), fc.double())),
    fc.string({ minLength: 100, maxLength: 3000 }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 40 }), async (values, cuts) => {
      const bytes = Buffer.concat(values.map(frame));
      const d = rawStream();
      const mc = new MessageConn(d);
      const out: unknown[] = [];
      mc.on('message', (v) => out.push(v));
      let p = 0;
      for (let i = 0; p < bytes.length; i++) {
        const n = cuts[i % cuts.length]!;
        d.push(bytes.subarray(p, p + n));
        p += n;
      }
      d.push(null);
      await new Promise<void>((resolve, reject) => {
        mc.on('end', resolve);
        mc.on('error', reject);
      });
      // The oracle is msgpack itself, decoding each frame whole: JSON would
      // turn -Infinity into null, which MessagePack keeps.
      assert.deepStrictEqual(out, values.map((v) => packr.unpack(packr.pack(v))));
    }),
    { numRuns: 150 },
  );
  t.pass('150 random frame sequences, each cut at random points');
});

interface Hostile {
  name: string;
  bytes: Buffer;
  code: string;
}

const hostile: Hostile[] = [
  { name: 'a length over maxMessageSize', bytes: Buffer.from([0, 0, 4, 1, 0xc0]), code: 'SHMNET_ERR_MESSAGE_TOO_LARGE' },
  { name: 'a 4 GiB length (never allocated)', bytes: Buffer.from([0xff, 0xff, 0xff, 0xff]), code: 'SHMNET_ERR_MESSAGE_TOO_LARGE' },
  { name: 'a zero length', bytes: Buffer.from([0, 0, 0, 0]), code: 'SHMNET_ERR_MESSAGE_MALFORMED' },
  { name: 'two values in one frame', bytes: Buffer.from([0, 0, 0, 2, 0x01, 0x02]), code: 'SHMNET_ERR_MESSAGE_MALFORMED' },
  { name: 'a value longer than its frame', bytes: Buffer.from([0, 0, 0, 3, 0xd9, 0x10, 0x41]), code: 'SHMNET_ERR_MESSAGE_MALFORMED' },
  { name: 'an array claiming 2^32-1 items', bytes: Buffer.from([0, 0, 0, 5, 0xdd, 0xff, 0xff, 0xff, 0xff]), code: 'SHMNET_ERR_MESSAGE_MALFORMED' },
];

for (const h of hostile) {
  t.test(`hostile frame: ${h.name}`, async (t) => {
    const d = rawStream();
    const mc = new MessageConn(d, { maxMessageSize: 1024 });
    const messages: unknown[] = [];
    mc.on('message', (v) => messages.push(v));
    const closed = new Promise((resolve) => mc.once('close', resolve));
    const failed = new Promise<Error & { code?: string }>((resolve) => mc.once('error', resolve));
    d.push(frame('before'));
    d.push(h.bytes);
    d.push(frame('after'));
    const err = await failed;
    t.equal(err.code, h.code);
    await closed;
    t.ok(d.destroyed, 'the stream is destroyed');
    t.same(messages, ['before'], 'frames before the bad one were delivered, none after');
  });
}

t.test('the stream ending inside a frame is malformed', async (t) => {
  const d = rawStream();
  const mc = new MessageConn(d);
  const failed = new Promise<Error & { code?: string }>((resolve) => mc.once('error', resolve));
  const f = frame({ a: 'b'.repeat(100) });
  d.push(f.subarray(0, 50));
  d.push(null);
  t.equal((await failed).code, 'SHMNET_ERR_MESSAGE_MALFORMED');
});

t.test('send() of a value over maxMessageSize throws; the connection stays usable', async (t) => {
  const [a, b] = pair(1000);
  t.throws(() => a.send('x'.repeat(2000)), { code: 'SHMNET_ERR_MESSAGE_TOO_LARGE', name: 'RangeError' });
  t.throws(() => a.send({ blob: Buffer.alloc(50_000) }), { code: 'SHMNET_ERR_MESSAGE_TOO_LARGE' });
  const got = collect(b, 2);
  a.send('fine');
  a.send({ n: 1 });
  t.same(await got, ['fine', { n: 1 }]);
});

t.test('backpressure: send() returns false, then drain; nothing lost', async (t) => {
  const [a, b] = pair();
  b.pause();
  const total = 200_000;
  let i = 0;
  let sawFalse = false;
  const pumped = new Promise<void>((resolve) => {
    const pump = () => {
      while (i < total) {
        if (!a.send({ i: i++, pad: 'p'.repeat(40) })) {
          sawFalse = true;
          a.once('drain', pump);
          if (i < 50_000) setTimeout(() => b.resume(), 20);
          return;
        }
      }
      resolve();
    };
    pump();
  });
  const got = collect(b, total);
  await pumped;
  t.ok(sawFalse, 'send() returned false while the reader was paused');
  const out = (await got) as Array<{ i: number }>;
  t.equal(out.length, total);
  t.ok(
    out.every((v, k) => v.i === k),
    'all messages, in order',
  );
});

t.test('pause() inside a message handler holds the rest until resume()', async (t) => {
  const d = rawStream();
  const mc = new MessageConn(d);
  const out: number[] = [];
  mc.on('message', (v: number) => {
    out.push(v);
    if (v === 2) mc.pause();
  });
  d.push(Buffer.concat([1, 2, 3, 4, 5].map(frame)));
  await new Promise((r) => setImmediate(r));
  t.same(out, [1, 2], 'stopped after the message that paused');
  const ended = new Promise((resolve) => mc.once('end', resolve));
  d.push(frame(6));
  d.push(null);
  await new Promise((r) => setImmediate(r));
  t.same(out, [1, 2], 'still paused');
  mc.resume();
  await ended;
  t.same(out, [1, 2, 3, 4, 5, 6], 'the rest, in order, then end');
});

t.test('end(), send() after end, close', async (t) => {
  const [a, b] = pair();
  const got = collect(b, 1);
  const ended = new Promise((resolve) => b.once('end', resolve));
  const closed = Promise.all([new Promise((r) => a.once('close', r)), new Promise((r) => b.once('close', r))]);
  a.send('last');
  a.end();
  t.equal(a.send('dropped'), false, 'send() after end() drops the value');
  t.same(await got, ['last']);
  await ended;
  b.end();
  await closed;
  t.pass('both closed');
});

t.test('argument checks', async (t) => {
  t.throws(() => new MessageConn({} as never), { code: 'SHMNET_ERR_INVALID_ARG' });
  t.throws(() => new MessageConn(rawStream(), { maxMessageSize: 0 }), { code: 'SHMNET_ERR_OUT_OF_RANGE' });
  t.throws(() => new MessageConn(rawStream(), { maxMessageSize: 2 ** 31 }), { code: 'SHMNET_ERR_OUT_OF_RANGE' });
  t.throws(() => new MessageConn(rawStream(), { maxMessageSize: 1.5 }), { code: 'SHMNET_ERR_INVALID_ARG' });
  const d = rawStream();
  new MessageConn(d);
  t.throws(() => new MessageConn(d), { code: 'SHMNET_ERR_INVALID_ARG' }, 'one MessageConn per stream');
});

// ---- records mode ------------------------------------------------------------

/** An object of shape `k` (its own set of keys), carrying `i`. */
function shaped(k: number, i: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let j = 0; j <= k % 5; j++) o[`f${k}_${j}`] = j === 0 ? i : `v${i}.${j}`;
  return o;
}

/** A records frame around MessagePack `body` (as a records sender would frame it). */
function recordsFrame(body: number[]): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE((RECORDS_FLAG | body.length) >>> 0, 0);
  Buffer.from(body).copy(out, 4);
  return out;
}

t.test('records: shapes beyond the 64 ids, nested, mixed with Maps and binary, round-trip', async (t) => {
  const [a, b] = pair(undefined, { records: true });
  t.equal(a.records, true);
  const values: unknown[] = [];
  // 200 shapes, each used three times in turns, so ids are reused and redefined.
  for (let round = 0; round < 3; round++) for (let k = 0; k < 200; k++) values.push(shaped(k, round * 1000 + k));
  const shapes = values.length;
  values.push({ outer: { inner: shaped(3, 7), list: [shaped(4, 8), shaped(5, 9)] } });
  values.push([shaped(1, 1), 'plain', 42, null]);
  values.push({ blob: new Uint8Array([9, 8, 7]), s: 'x'.repeat(300) });
  values.push(new Map<unknown, unknown>([[1, 'one'], ['two', 2]]));
  const got = collect(b, values.length);
  for (const v of values) a.send(v);
  const out = await got;
  let same = 0;
  for (let i = 0; i < shapes + 2; i++) if (assertSame(out[i], values[i])) same++;
  t.equal(same, shapes + 2, 'every object arrives as sent, nested ones too');
  const blob = out[shapes + 2] as { blob: Uint8Array; s: string };
  t.same(Buffer.from(blob.blob), Buffer.from([9, 8, 7]), 'binary');
  t.equal(blob.s, 'x'.repeat(300));
  t.same(out[shapes + 3], { 1: 'one', two: 2 }, 'a Map arrives as a plain object, as in map mode');
});

function assertSame(got: unknown, want: unknown): boolean {
  try {
    assert.deepStrictEqual(got, want);
    return true;
  } catch {
    return false;
  }
}

t.test('records: a receiver with records takes map frames too', async (t) => {
  const [a, b] = pair(undefined, {}, { records: true });
  const got = collect(b, 2);
  a.send({ x: 1 });
  a.send({ x: 2, y: [1] });
  t.same(await got, [{ x: 1 }, { x: 2, y: [1] }]);
});

t.test('records: a receiver without records refuses a records frame before its body arrives', async (t) => {
  const [a, b] = pair(undefined, { records: true }, {});
  const failed = new Promise<Error & { code?: string }>((resolve) => b.once('error', resolve));
  const messages: unknown[] = [];
  b.on('message', (v) => messages.push(v));
  a.send({ x: 1 });
  const err = await failed;
  t.equal(err.code, 'SHMNET_ERR_MESSAGE_MALFORMED');
  t.match(err.message, /records: true/);
  t.same(messages, []);

  // The flag alone decides, before any byte of the body is awaited.
  const d = rawStream();
  const mc = new MessageConn(d);
  const early = new Promise<Error & { code?: string }>((resolve) => mc.once('error', resolve));
  d.push(Buffer.from([0x80, 0, 0x10, 0]));
  t.equal((await early).code, 'SHMNET_ERR_MESSAGE_MALFORMED');
});

t.test('records: a frame dropped after packing (too large) does not leave its shape undefined for the peer', async (t) => {
  const [a, b] = pair(1000, { records: true });
  const got = collect(b, 3);
  a.send({ kind: 'small', n: 1 });
  // A new shape, first packed here: its definition is in a frame that is never sent.
  t.throws(() => a.send({ fresh: 'x'.repeat(2000), other: 1 }), { code: 'SHMNET_ERR_MESSAGE_TOO_LARGE' });
  a.send({ fresh: 'fits', other: 2 });
  a.send({ kind: 'small', n: 3 });
  t.same(await got, [{ kind: 'small', n: 1 }, { fresh: 'fits', other: 2 }, { kind: 'small', n: 3 }]);
});

t.test('records: a value msgpackr cannot pack throws; the same shape, packable, then arrives', async (t) => {
  const [a, b] = pair(undefined, { records: true });
  const got = collect(b, 3);
  a.send({ p: 1, q: 2 });
  t.throws(() => a.send({ p: 1, q: 2, big: 2n ** 70n }));
  a.send({ p: 3, q: 4, big: 5 });
  a.send({ p: 6, q: 7 });
  t.same(await got, [{ p: 1, q: 2 }, { p: 3, q: 4, big: 5 }, { p: 6, q: 7 }]);
});

interface HostileRecords {
  name: string;
  body: number[];
}

// 0xd4 0x72 id: a definition under a one-byte id; 0xd5 0x72 id high: under a two-byte id.
const hostileRecords: HostileRecords[] = [
  { name: 'a definition under a two-byte id (high byte 1)', body: [0xd5, 0x72, 0x05, 0x01, 0x91, 0xa1, 0x61, 0x01] },
  { name: 'a definition under a two-byte id (high byte 255, id above 32)', body: [0xd5, 0x72, 0x25, 0xff, 0x91, 0xa1, 0x61, 0x01] },
  { name: 'a definition whose keys are not strings', body: [0xd4, 0x72, 0x01, 0x91, 0x80, 0x01] },
  { name: 'a definition without its values', body: [0xd4, 0x72, 0x01, 0x92, 0xa1, 0x61, 0xa1, 0x62] },
];

for (const h of hostileRecords) {
  t.test(`records, hostile frame: ${h.name}`, async (t) => {
    const d = rawStream();
    const mc = new MessageConn(d, { records: true });
    const messages: unknown[] = [];
    mc.on('message', (v) => messages.push(v));
    const failed = new Promise<Error & { code?: string }>((resolve) => mc.once('error', resolve));
    d.push(frame('before'));
    d.push(recordsFrame(h.body));
    d.push(frame('after'));
    t.equal((await failed).code, 'SHMNET_ERR_MESSAGE_MALFORMED');
    t.same(messages, ['before']);
  });
}

t.test('records: a peer redefining every id keeps working, the latest definition wins', async (t) => {
  const d = rawStream();
  const mc = new MessageConn(d, { records: true });
  const out: unknown[] = [];
  mc.on('message', (v) => out.push(v));
  const key = (id: number, round: number) => String.fromCharCode(0x61 + (id % 26)).repeat(200 + round);
  // A definition under every one-byte id, twice over, each with a long key, then a reference to each id alone.
  for (let round = 0; round < 2; round++) {
    for (let id = 0; id < RECORD_SLOTS; id++) d.push(recordsFrame([0xd4, 0x72, id, 0x91, 0xd9, 200 + round, ...Buffer.from(key(id, round)), round]));
  }
  for (let id = 0; id < RECORD_SLOTS; id++) d.push(recordsFrame([0x40 + id, 7]));
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.equal(out.length, RECORD_SLOTS * 3, 'every frame decoded');
  t.same(out[63], { [key(63, 0)]: 0 });
  t.same(out[RECORD_SLOTS * 2 + 5], { [key(5, 1)]: 7 }, 'a later reference uses the redefinition');
});
