/**
 * Hostile peers against a live server, with a time budget:
 *
 *  - raw sockets sending random, truncated, oversized and out-of-order
 *    handshake frames (fast-check): each fails with a coded handshake error
 *    or falls back, never crashes the server, never leaves a name;
 *  - a peer process that maps the region and writes random values into the
 *    ring control words and data (before and after ACK): the server
 *    destroys only that connection, with SHMNET_ERR_RING_CORRUPT or
 *    SHMNET_ERR_PEER_GONE, and keeps serving a good client meanwhile with
 *    SHA-256-checked transfers;
 *  - a server that does the same to its client: the client gets
 *    SHMNET_ERR_RING_CORRUPT, even when the rings were corrupt before its
 *    engine started.
 */
import t from 'tap';
import { once } from 'node:events';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { createServer, connect, codes, type Conn, type Server } from '../../src/index.js';
import { createServer as createNetServer } from 'node:net';
import { createSegment, encodeMessage, FrameReader, PROTOCOL_VERSION, unlinkQuietly, type HandshakeMessage } from '../../src/handshake/index.js';
import { ringOffsets } from '../../src/ring/header.js';
import { TOKEN_LENGTH } from '../../src/ring/layout.js';
import { FIN_INDEX, HEAD_INDEX, RING_C2S, RING_S2C } from '../../src/ring/layout.js';
import { forkFixture } from '../helpers/peer.js';
import { hashUntilEnd, sendRandom } from '../helpers/stream.js';
import { hello, Prefork, RawPeer, shmNames, waitFor } from '../fixtures/reliability-lib.js';

const FUZZ_BUDGET_MS = Number(process.env.SHMNET_FUZZ_MS ?? 4000);
const HOSTILE_BUDGET_MS = Number(process.env.SHMNET_HOSTILE_MS ?? 4000);

t.teardown(() => {
  const left = shmNames(process.pid);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

const pool = new Prefork((name) => forkFixture(name), { 'hostile-raw.ts': 1 });
t.teardown(() => pool.killAll());

interface Outcome {
  code: string | null;
  closed: boolean;
  /** 'end' came: the peer published a well-formed FIN. */
  ended: boolean;
  errors: string[];
}

interface Served {
  server: Server;
  port: number;
  /** Outcomes of the server-side Conns, by the client's address:port, in accept order. */
  outcomes: Map<string, Outcome[]>;
  handshakeErrors: Map<string, number>;
}

/** An echo server that records how each connection ended; calls stats() on every Conn as monitoring would. */
async function echoServer(opts: object): Promise<Served> {
  const outcomes: Served['outcomes'] = new Map();
  const handshakeErrors = new Map<string, number>();
  const server = createServer(opts, (conn: Conn) => {
    const o: Outcome = { code: null, closed: false, ended: false, errors: [] };
    // Ports get reused: keep every connection from one address:port, in order.
    const key = `${conn.remoteAddress}:${conn.remotePort}`;
    outcomes.set(key, [...(outcomes.get(key) ?? []), o]);
    conn.on('error', (e: any) => {
      o.code ??= e.code ?? 'uncoded';
      o.errors.push(`${e.code}: ${e.message}`);
    });
    conn.on('end', () => (o.ended = true));
    conn.on('close', () => {
      o.closed = true;
      clearInterval(iv);
    });
    const iv = setInterval(() => conn.stats(), 1);
    conn.pipe(conn);
  });
  server.on('handshakeError', (e: any) => handshakeErrors.set(e.code, (handshakeErrors.get(e.code) ?? 0) + 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, outcomes, handshakeErrors };
}

/**
 * One good client: echo `bytes` through the server and compare SHA-256 both
 * ways. It comes from 127.0.0.2, so its connections are never taken for a
 * hostile one that had the same port before.
 */
async function goodTransfer(port: number, bytes: number): Promise<{ ok: boolean; transport: string | undefined }> {
  const c = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  await once(c, 'connect');
  const back = hashUntilEnd(c);
  const sent = await sendRandom(c, bytes, 65536);
  const got = await back;
  return { ok: got.sha === sent && got.bytes === bytes, transport: c.transport };
}

// ---- handshake frames from a raw socket -------------------------------------

const packr = new Packr({ useRecords: false, moreTypes: false });

function frame(body: Uint8Array, announced = body.length): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b.writeUInt32BE(announced >>> 0, 0);
  b.set(body, 4);
  return b;
}

const token = fc.uint8Array({ minLength: TOKEN_LENGTH, maxLength: TOKEN_LENGTH }).map((u) => Buffer.from(u));
const anyValue = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(fc.constantFrom('type', 'version', 'token', 'reason', 'code', 'message', 'ringSize', 'uid', 'hostId', 'x'), fc.anything({ maxDepth: 2 })),
);
/** A message in roughly the right shape, with fields that may be wrong. */
const message = fc.oneof(
  fc.record({
    type: fc.constantFrom('hello', 'ack', 'nack', 'reject', 'mapinfo', 'fallback', 'bogus'),
    version: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.integer({ min: -2, max: 5 })),
    token,
    reason: fc.string({ maxLength: 300 }),
    code: fc.constantFrom('SHMNET_ERR_HANDSHAKE', 'SHMNET_ERR_NO_SPACE', 'nope'),
    message: fc.string({ maxLength: 40 }),
  }),
  fc.record({
    ringSize: fc.oneof(fc.constant(0), fc.integer({ min: 12, max: 31 }).map((e) => 2 ** e), fc.integer()),
    transport: fc.constantFrom('auto', 'shm', 'tcp', 'udp'),
    uid: fc.oneof(fc.constant(process.geteuid?.() ?? 0), fc.integer({ min: -1, max: 70000 })),
    version: fc.constantFrom(PROTOCOL_VERSION, 0, 2),
  }).map((o) => ({ ...hello(), ...o })),
);

/** One client's bytes: a list of pieces, then how it leaves. */
const piece = fc.oneof(
  { weight: 3, arbitrary: message.map((m) => frame(packr.pack(m))) },
  { weight: 1, arbitrary: anyValue.map((v) => frame(packr.pack(v))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)) },
  // truncated: a frame cut short
  { weight: 1, arbitrary: fc.tuple(message, fc.nat()).map(([m, n]) => { const f = frame(packr.pack(m)); return f.subarray(0, n % f.length); }) },
  // oversized: announces more than the limit (and maybe sends some of it)
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 16 * 1024 + 1, max: 2 ** 32 - 1 }), fc.uint8Array({ maxLength: 32 })).map(([n, u]) => frame(u, n)) },
  // a zero-length frame
  { weight: 1, arbitrary: fc.constant(frame(new Uint8Array(0))) },
);
const script = fc.record({
  pieces: fc.array(piece, { minLength: 1, maxLength: 5 }),
  // a well-formed HELLO first makes the later pieces out of order for the reply state
  helloFirst: fc.boolean(),
  leave: fc.constantFrom('end', 'destroy', 'hold'),
});

async function runScript(port: number, s: { pieces: Buffer[]; helloFirst: boolean; leave: string }): Promise<void> {
  const peer = await RawPeer.connect({ port, host: '127.0.0.1' });
  if (s.helloFirst) peer.send(hello({ ringSize: 4096 }) as HandshakeMessage);
  for (const p of s.pieces) if (p.length > 0) peer.socket.write(p);
  if (s.leave === 'end') peer.socket.end();
  else if (s.leave === 'destroy') peer.destroy();
  // 'hold': the server ends it (bad frame) or its handshake timeout does. A
  // script that reached the data phase (a fallback) is ours to close.
  const closed = peer.closedP;
  const late = setTimeout(() => peer.destroy(), 1500);
  await closed;
  clearTimeout(late);
}

t.test('random, truncated, oversized and out-of-order handshake frames', async (t) => {
  const srv = await echoServer({ handshakeTimeout: 250, ringSize: 4096 });
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(script, { minLength: 8, maxLength: 8 }), async (batch) => {
      // eight clients at a time: most cases wait for the handshake timeout
      await Promise.all(batch.map((s) => runScript(srv.port, s)));
      cases += batch.length;
    }),
    { numRuns: 1_000_000, interruptAfterTimeLimit: FUZZ_BUDGET_MS, markInterruptAsFailure: false },
  );
  t.ok(cases >= 8, `${cases} hostile clients in ${FUZZ_BUDGET_MS} ms`);
  t.comment(`handshake failures by code: ${JSON.stringify(Object.fromEntries(srv.handshakeErrors))}`);
  for (const code of srv.handshakeErrors.keys()) t.match(code, /^SHMNET_ERR_/, `${code} is a coded error`);
  t.ok(srv.server.listening, 'the server is still listening');
  const good = await goodTransfer(srv.port, 1 << 20);
  t.ok(good.ok, 'a good client still gets every byte back (SHA-256)');
  t.equal(good.transport, 'shm');
  // Each hostile handshake ends by itself (a bad frame, the client leaving, the 250 ms timeout).
  await waitFor(() => srv.server.stats().handshakesInProgress === 0, 30_000);
  t.equal(srv.server.stats().handshakesInProgress, 0, 'no handshake left hanging');
  t.same(shmNames(process.pid), [], 'every failed handshake unlinked its name');
  srv.server.close();
});

// ---- a peer that scribbles over the rings -----------------------------------------

t.test('a hostile peer writing random values into the rings', async (t) => {
  const srv = await echoServer({ ringSize: 4096, maxRingSize: 4096 });
  const hostile = await pool.take('hostile-raw.ts', {
    role: 'client',
    stage: 'scribble',
    address: { port: srv.port, host: '127.0.0.1' },
    budgetMs: HOSTILE_BUDGET_MS,
    perConnMs: 300,
    seed: Number(process.env.SHMNET_SEED ?? Date.now() % 1e9),
  });
  // A good client keeps transferring, integrity-checked, all the while.
  let goodOk = 0;
  let goodBad = 0;
  let running = true;
  const good = (async () => {
    while (running) {
      const r = await goodTransfer(srv.port, 256 * 1024);
      if (r.ok && r.transport === 'shm') goodOk++;
      else goodBad++;
    }
  })();
  const { results } = await hostile.event('done');
  running = false;
  await good;
  t.ok(results.length > 0, `${results.length} hostile connections`);
  t.comment(`seed ${results[0]?.seed}…; per strategy: ${JSON.stringify(results.map((r: any) => `${r.strategy}${r.early ? '/early' : ''}`))}`);
  // every hostile connection closed on the server side, with an allowed outcome
  const hostileOutcomes = () => [...srv.outcomes].filter(([k]) => k.startsWith('127.0.0.1:')).flatMap(([, list]) => list);
  await waitFor(() => !hostileOutcomes().some((o) => !o.closed), 30_000);
  const byCode = new Map<string, number>();
  for (const r of results) {
    // hostile connections run one after another, so accept order is result order
    const o = srv.outcomes.get(`127.0.0.1:${r.localPort}`)?.shift();
    if (o === undefined) {
      t.fail(`no server connection for ${r.strategy}${r.early ? '/early' : ''} (port ${r.localPort})`);
      continue;
    }
    t.ok(o.closed, `${r.strategy}${r.early ? '/early' : ''}: the server closed it`);
    const code = o.code ?? 'none';
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    // Anything but a coded error needs a well-formed end of stream: the peer
    // owns its FIN, so it may well publish one (the 'data-noise' peer keeps
    // every counter valid; others may set FIN = 1 before scribbling further).
    // A random word may also be FIN_ABORTED, a legitimate reset.
    const ok =
      o.code === codes.RING_CORRUPT ||
      o.code === codes.PEER_GONE ||
      (o.code === null && o.ended) ||
      (o.code === codes.CONN_RESET && r.strategy === 'random-words');
    t.ok(ok, `${r.strategy}${r.early ? '/early' : ''}: ${code}${o.ended ? ' (after end)' : ''}`, { errors: o.errors, result: r });
  }
  t.comment(`server-side outcomes: ${JSON.stringify(Object.fromEntries(byCode))}`);
  t.ok((byCode.get(codes.RING_CORRUPT) ?? 0) >= results.length / 2, 'corruption was mostly detected as SHMNET_ERR_RING_CORRUPT');
  t.ok(goodOk > 0, `the good client completed ${goodOk} SHA-256-checked transfers meanwhile`);
  t.equal(goodBad, 0, 'and none of them failed');
  t.ok(srv.server.listening, 'the server is still listening');
  srv.server.close();
});

// ---- a hostile server --------------------------------------------------------------

t.test('a hostile server scribbling over the rings: the client gets RING_CORRUPT, never a crash', async (t) => {
  const cases = ['an impossible head before MAPINFO', "the client's own FIN set before MAPINFO", 'an impossible head after ACK'] as const;
  for (const when of cases) {
    const fake = createNetServer((s) => {
      s.on('error', () => {});
      const reader = new FrameReader();
      const seg = createSegment(4096);
      const sab = seg.region.buffer as SharedArrayBuffer;
      const rings = ringOffsets(4096);
      const c2s = new Int32Array(sab, rings[RING_C2S].controlOffset, 128);
      const s2c = new Int32Array(sab, rings[RING_S2C].controlOffset, 128);
      let acked = false;
      s.on('data', (d: Buffer) => {
        if (acked) return;
        reader.push(d);
        const f = reader.next();
        if (f === undefined) return;
        if ((f as { type: string }).type === 'hello') {
          // Before the client has built its ring handles.
          if (when === cases[0]) Atomics.store(s2c, HEAD_INDEX, 0x7fff0000);
          if (when === cases[1]) Atomics.store(c2s, FIN_INDEX, 1);
          s.write(encodeMessage({ type: 'mapinfo', version: PROTOCOL_VERSION, name: seg.name, size: seg.region.size, ringSize: 4096, token: seg.token, serverPid: process.pid }));
          return;
        }
        acked = true;
        unlinkQuietly(seg.name);
        if (when === cases[2]) Atomics.store(s2c, HEAD_INDEX, 0x7fff0000);
        s.write('b'); // a doorbell: look at the ring
      });
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    const c = connect({ port: (fake.address() as { port: number }).port, host: '127.0.0.1' });
    c.on('data', () => {});
    c.write('x');
    const [err] = await once(c, 'error');
    t.equal(err.code, codes.RING_CORRUPT, `${when}: SHMNET_ERR_RING_CORRUPT`);
    if (!c.closed) await once(c, 'close');
    fake.close();
  }
});
