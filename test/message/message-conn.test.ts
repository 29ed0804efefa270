/**
 * MessageConn in one process: values round-trip over a Conn (a worker
 * channel, both ends in this thread); the frame parser against every
 * split of the byte stream (fast-check) and against hostile frames;
 * backpressure and pause/resume; argument checks.
 */
import t from 'tap';
import fc from 'fast-check';
import assert from 'node:assert';
import { Duplex } from 'node:stream';
import { Packr } from 'msgpackr';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { MessageConn } from '../../src/message/index.js';

function pair(maxMessageSize?: number): [MessageConn, MessageConn] {
  const { port1, port2 } = createChannel({ ringSize: 64 * 1024 });
  const opts = maxMessageSize === undefined ? undefined : { maxMessageSize };
  const a = new MessageConn(openChannel(port1), opts);
  const b = new MessageConn(openChannel(port2), opts);
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
