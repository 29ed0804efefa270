/**
 * Hostile input against the handshake decoder. The only allowed outcomes
 * are a parsed value/message or a ShmnetError `SHMNET_ERR_HANDSHAKE` —
 * never another exception, never a hang, never more than maxFrameSize + 4
 * bytes held for an unfinished frame.
 */
import { MAX_CAPACITY, MIN_CAPACITY } from '../../src/ring/layout.js';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FrameReader,
  encodeFrame,
  encodeMessage,
  parseClientReply,
  parseHello,
  parseMessage,
  parseServerReply,
  type FrameValue,
  type HandshakeMessage,
} from '../../src/handshake/index.js';
import { ShmnetError } from '../../src/errors.js';

const TIME_LIMIT_MS = 3000;
const opts = (numRuns: number) => ({ numRuns, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] });

/** Runs `fn`; a SHMNET_ERR_HANDSHAKE error is an allowed outcome, anything else is rethrown. */
function allowed<T>(fn: () => T): T | ShmnetError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ShmnetError && err.code === 'SHMNET_ERR_HANDSHAKE') return err;
    throw err;
  }
}

/** Splits `bytes` into chunks of the given sizes (cycled). */
function chunked(bytes: Uint8Array, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let i = 0;
  for (let pos = 0; pos < buf.length; i++) {
    const n = sizes.length > 0 ? sizes[i % sizes.length]! : buf.length;
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

/**
 * Feeds chunks, drains frames after each, validates each frame as a message.
 * Returns the messages parsed; stops at the first handshake error.
 */
function feed(reader: FrameReader, chunks: Buffer[]): { messages: HandshakeMessage[]; error?: ShmnetError } {
  const messages: HandshakeMessage[] = [];
  const max = reader.maxFrameSize;
  for (const c of chunks) {
    const pushed = allowed(() => reader.push(c));
    if (pushed instanceof ShmnetError) return { messages, error: pushed };
    for (;;) {
      const v = allowed(() => reader.next());
      if (v instanceof ShmnetError) return { messages, error: v };
      if (v === undefined) break;
      const m = allowed(() => parseMessage(v));
      if (!(m instanceof ShmnetError)) messages.push(m);
    }
    // all complete frames drained: only an unfinished frame is held
    if (reader.bufferedBytes > max + 4) throw new Error(`reader holds ${reader.bufferedBytes} bytes, limit ${max}`);
  }
  return { messages };
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 });
const maxFrameSize = fc.constantFrom(1, 8, 64, 1024, DEFAULT_MAX_FRAME_SIZE);

const pow2Ring = fc.integer({ min: Math.log2(MIN_CAPACITY), max: Math.log2(MAX_CAPACITY) }).map((e) => 2 ** e);
const pid = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const token = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => Buffer.from(u));
const shmName = fc
  .tuple(fc.boolean(), fc.stringMatching(/^[A-Za-z0-9._-]{1,63}$/))
  .filter(([, s]) => s !== '.' && s !== '..')
  .map(([slash, s]) => (slash ? `/${s}` : s));

const validMessage: fc.Arbitrary<HandshakeMessage> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    version: fc.constant(1),
    hostId: fc.string({ minLength: 1, maxLength: 256 }),
    pid,
    uid: fc.integer({ min: -1, max: 2 ** 32 - 1 }),
    ringSize: fc.oneof(fc.constant(0), pow2Ring),
    transport: fc.constantFrom('auto' as const, 'shm' as const, 'tcp' as const),
  }),
  fc.record({
    type: fc.constant('mapinfo' as const),
    version: fc.constant(1),
    name: shmName,
    size: fc.integer({ min: 1, max: 2 ** 31 }),
    ringSize: pow2Ring,
    token,
    serverPid: pid,
  }),
  fc.record({ type: fc.constant('fallback' as const), version: fc.constant(1), reason: fc.string({ maxLength: 256 }) }),
  fc.record({
    type: fc.constant('reject' as const),
    version: fc.constant(1),
    code: fc.stringMatching(/^SHMNET_ERR_[A-Z0-9_]{1,53}$/),
    message: fc.string({ maxLength: 1024 }),
  }),
  fc.record({ type: fc.constant('ack' as const), version: fc.constant(1), token }),
  fc.record({ type: fc.constant('nack' as const), version: fc.constant(1), reason: fc.string({ maxLength: 256 }) }),
);

const anything = fc.anything({
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withObjectString: true,
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
});

t.test('random bytes', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), chunkSizes, maxFrameSize, (bytes, sizes, max) => {
      feed(new FrameReader({ maxFrameSize: max }), chunked(bytes, sizes));
    }),
    opts(20000),
  );
  t.pass('random byte streams: only handshake errors');
});

t.test('random bodies behind a correct length prefix', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), chunkSizes, (body, sizes) => {
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32BE(body.length, 0);
      frame.set(body, 4);
      feed(new FrameReader(), chunked(frame, sizes));
    }),
    opts(20000),
  );
  t.pass('random MessagePack bodies: only handshake errors');
});

t.test('msgpack-ish bodies built from interesting tokens', async (t) => {
  // type bytes that announce lengths, extensions and containers, with big length fields
  const token = fc.oneof(
    fc.constantFrom(0x90, 0x9f, 0x80, 0x8f, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8),
    fc.constantFrom(0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xcf, 0xd3, 0x72, 0x62, 0x69, 0x70, 0x74, 0x78, 0x65),
    fc.constantFrom(0x00, 0x40, 0x7f, 0xa1, 0xbf, 0xff, 0xe0, 0xc0),
    fc.integer({ min: 0, max: 255 }),
  );
  fc.assert(
    fc.property(fc.array(token, { minLength: 1, maxLength: 64 }), (bytes) => {
      const body = Buffer.from(bytes);
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32BE(body.length, 0);
      body.copy(frame, 4);
      feed(new FrameReader(), [frame]);
    }),
    opts(30000),
  );
  t.pass('token soup: only handshake errors');
});

t.test('truncated valid frames are incomplete, not errors', async (t) => {
  fc.assert(
    fc.property(validMessage, fc.nat(), chunkSizes, (m, cutSeed, sizes) => {
      const frame = encodeMessage(m);
      const cut = cutSeed % frame.length;
      const r = new FrameReader();
      for (const c of chunked(frame.subarray(0, cut), sizes)) r.push(c);
      if (r.next() !== undefined) throw new Error('a truncated frame decoded');
      if (r.bufferedBytes !== cut) throw new Error('bytes lost');
      r.push(frame.subarray(cut));
      const v = r.next();
      if (!isDeepStrictEqual(parseMessage(v), parseMessage(m))) throw new Error('completed frame differs');
    }),
    opts(2000),
  );
  t.pass('truncation only ever waits for more bytes');
});

type Mutation = { kind: 'set' | 'insert' | 'delete'; at: number; byte: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});

function mutate(bytes: Buffer, ms: Mutation[]): Buffer {
  const a = [...bytes];
  for (const m of ms) {
    const at = a.length === 0 ? 0 : m.at % (a.length + (m.kind === 'insert' ? 1 : 0));
    if (m.kind === 'set' && a.length > 0) a[at] = m.byte;
    else if (m.kind === 'insert') a.splice(at, 0, m.byte);
    else if (m.kind === 'delete' && a.length > 0) a.splice(at, 1);
  }
  return Buffer.from(a);
}

t.test('valid frames with random mutations', async (t) => {
  fc.assert(
    fc.property(
      fc.array(validMessage, { minLength: 1, maxLength: 3 }),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      chunkSizes,
      (msgs, ms, fixPrefix, sizes) => {
        let stream: Buffer;
        if (fixPrefix) {
          // mutate bodies only and keep prefixes right, to reach the decoder and validators
          stream = Buffer.concat(
            msgs.map((m) => {
              const body = mutate(encodeMessage(m).subarray(4), ms);
              const f = Buffer.alloc(4 + body.length);
              f.writeUInt32BE(body.length, 0);
              body.copy(f, 4);
              return f;
            }),
          );
        } else {
          stream = mutate(Buffer.concat(msgs.map((m) => encodeMessage(m))), ms);
        }
        const { messages } = feed(new FrameReader(), chunked(stream, sizes));
        for (const m of messages) parseMessage(m); // whatever passed must still be valid
      },
    ),
    opts(10000),
  );
  t.pass('mutated frames: a message or a handshake error');
});

t.test('random values through the validators', async (t) => {
  const parsers = [parseHello, parseServerReply, parseClientReply, parseMessage];
  fc.assert(
    fc.property(anything, (v) => {
      for (const p of parsers) allowed(() => p(v));
    }),
    opts(3000),
  );
  // near misses: a valid message with one field deleted, replaced or added
  fc.assert(
    fc.property(
      validMessage,
      fc.constantFrom('type', 'version', 'hostId', 'pid', 'uid', 'ringSize', 'transport', 'name', 'size', 'token', 'serverPid', 'reason', 'code', 'message'),
      fc.option(anything),
      (m, key, replacement) => {
        const o: Record<string, unknown> = { ...m };
        if (replacement === null) delete o[key];
        else o[key] = replacement;
        for (const p of parsers) {
          const r = allowed(() => p(o));
          if (!(r instanceof ShmnetError)) encodeMessage(r); // a parsed message is always encodable
        }
      },
    ),
    opts(5000),
  );
  t.pass('validators: a message or a handshake error');
});

t.test('valid messages round-trip', async (t) => {
  fc.assert(
    fc.property(validMessage, chunkSizes, (m, sizes) => {
      const r = new FrameReader();
      const { messages, error } = feed(r, chunked(encodeMessage(m), sizes));
      if (error || messages.length !== 1) throw new Error(`expected one message, got ${messages.length} ${String(error)}`);
      if (!isDeepStrictEqual(messages[0], parseMessage(m))) throw new Error('round-trip changed the message');
    }),
    opts(3000),
  );
  t.pass('encode → frames → parse is the identity');
});

t.test('frames followed by data-phase bytes: takeRest returns exactly the data', async (t) => {
  fc.assert(
    fc.property(
      fc.array(validMessage, { minLength: 1, maxLength: 4 }),
      fc.uint8Array({ maxLength: 300 }),
      chunkSizes,
      (msgs, data, sizes) => {
        const stream = Buffer.concat([...msgs.map((m) => encodeMessage(m)), data]);
        const r = new FrameReader();
        let got = 0;
        for (const c of chunked(stream, sizes)) {
          r.push(c);
          // like a transport: stop asking for frames after the last expected one
          while (got < msgs.length && r.next() !== undefined) got++;
        }
        if (got !== msgs.length) throw new Error(`decoded ${got} of ${msgs.length} frames`);
        const rest = r.takeRest();
        if (!rest.equals(Buffer.from(data))) throw new Error('data-phase bytes lost or duplicated');
        if (r.takeRest().length !== 0) throw new Error('rest handed out twice');
      },
    ),
    opts(3000),
  );
  t.pass('no data-phase byte lost or duplicated');
});

/** What a plain value looks like after a trip: Buffers for bins, plain objects, 0 for -0. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = normalize((v as Record<string, unknown>)[k]);
    return o;
  }
  return Object.is(v, -0) ? 0 : v;
}

t.test('plain values round-trip through encodeFrame', async (t) => {
  const plain = fc.letrec<{ value: FrameValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double(),
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(
        fc.string().filter((k) => k !== '__proto__'),
        tie('value'),
        { maxKeys: 5 },
      ),
    ),
  })).value;
  fc.assert(
    fc.property(plain, (v) => {
      const r = new FrameReader();
      r.push(encodeFrame(v));
      const got = r.next();
      if (!isDeepStrictEqual(got, normalize(v))) throw new Error('value changed on the way');
    }),
    opts(2000),
  );
  t.pass('plain data survives a trip');
});
