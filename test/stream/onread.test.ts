/**
 * onread, as node:net's: the same scenarios run on node:net's onread and
 * on shmnet's, over shared memory and over the socket fallback
 * ('tcp'), and their records must be identical. Then what node:net lacks
 * (onread on a server's Conns, on a worker channel) and the checks of the
 * option.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { codes, connect, createServer, type Conn } from '../../src/index.js';
import { forkFixture, waitExit } from '../helpers/peer.js';
import { closed, conformance, pair, settle, sha256, type Flavour, type Recorder, type Scenario, type Sock } from '../helpers/conformance.js';

const PAYLOAD = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff));

/** The client options for a flavour: onread, plus `transport: 'tcp'` on shmnet's fallback runs. */
function clientOptions(fl: Flavour, fallback: boolean, onread: object): object {
  return fl.kind === 'shm' && fallback ? { onread, transport: 'tcp' } : { onread };
}

/**
 * Logs the callbacks as merged `onread <bytes>` entries among the other
 * events (chunking is not part of the contract), checks each one's
 * `nread` and `this`, and keeps a copy of the bytes.
 */
function reader(rec: Recorder, side: string, bufLen: number) {
  const got: Buffer[] = [];
  let calls = 0;
  let self: unknown = null;
  let bad = 0;
  const entries = (rec.outcome[side] ??= []);
  const note = (n: number) => {
    const last = entries[entries.length - 1];
    if (typeof last === 'string' && last.startsWith('onread ')) entries[entries.length - 1] = `onread ${Number(last.slice(7)) + n}`;
    else entries.push(`onread ${n}`);
  };
  return {
    got,
    get calls() {
      return calls;
    },
    /** Records one callback; returns what `decide` says (default: go on). */
    take(this: void, that: unknown, nread: number, buf: Uint8Array, decide?: () => boolean): boolean {
      calls++;
      self = that;
      if (!(Number.isInteger(nread) && nread > 0 && nread <= bufLen && buf.length === bufLen)) bad++;
      got.push(Buffer.from(buf.subarray(0, nread)));
      note(nread);
      return decide ? decide() : true;
    },
    summary(sock: Sock): string {
      return `calls ok ${bad === 0}, this is the socket ${self === sock}, body ${sha256(Buffer.concat(got))}`;
    },
  };
}

/**
 * A pair whose server writes PAYLOAD and ends; resolves once the server
 * has finished and the client's first callback (which stops reading) ran,
 * plus some turns of the event loop: a paused client stays at one
 * callback whenever one looks, so the turns only give it the chance to be wrong.
 */
async function pausedAfterFirst(fl: Flavour, rec: Recorder, client: object, r: { readonly calls: number }, onClient?: (c: Sock) => void) {
  let serverFinished!: Promise<unknown>;
  const p = await pair(fl, rec, {
    client,
    clientEvents: ['connect', 'end', 'error', 'close'],
    ...(onClient ? { onClient } : null),
    onConnection: (c) => {
      serverFinished = once(c, 'finish');
      c.end(PAYLOAD);
    },
  });
  await serverFinished;
  while (r.calls === 0) await new Promise((res) => setImmediate(res));
  for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
  return p;
}

const scenarios: Scenario[] = [];
for (const fallback of [false, true]) {
  const tag = fallback ? ' (shmnet over its socket fallback)' : '';
  scenarios.push(
    {
      name: `a static buffer: every callback gets that buffer, nread ≤ its length, 'end' after the last bytes${tag}`,
      async run(fl, rec) {
        const buf = new Uint8Array(64);
        const r = reader(rec, 'client', buf.length);
        let same = true;
        const onread = {
          buffer: buf,
          callback(this: unknown, n: number, b: Uint8Array) {
            if (b !== buf) same = false;
            return r.take(this, n, b);
          },
        };
        const p = await pair(fl, rec, { client: clientOptions(fl, fallback, onread), clientEvents: ['connect', 'end', 'error', 'close'], onConnection: (c) => c.end(PAYLOAD) });
        await once(p.client, 'end');
        rec.log('client', r.summary(p.client));
        rec.log('client', `the same buffer every time ${same}`);
        await settle(rec, p);
      },
    },
    {
      name: `a buffer function: called once at connect and once after each callback, whose buffer is the last it returned${tag}`,
      async run(fl, rec) {
        const r = reader(rec, 'client', 100);
        let made = 0;
        let last: Uint8Array | null = null;
        let latest = true;
        const onread = {
          buffer: () => {
            made++;
            last = new Uint8Array(100);
            return last;
          },
          callback(this: unknown, n: number, b: Uint8Array) {
            if (b !== last) latest = false;
            return r.take(this, n, b);
          },
        };
        const p = await pair(fl, rec, { client: clientOptions(fl, fallback, onread), clientEvents: ['connect', 'end', 'error', 'close'], onConnection: (c) => c.end(PAYLOAD) });
        await once(p.client, 'end');
        rec.log('client', r.summary(p.client));
        rec.log('client', `buffers made - callbacks = ${made - r.calls}, each callback got the latest ${latest}`);
        await settle(rec, p);
      },
    },
    {
      name: `returning false pauses: no callback and no 'end' until resume()${tag}`,
      async run(fl, rec) {
        const r = reader(rec, 'client', 10);
        const onread = { buffer: new Uint8Array(10), callback: (n: number, b: Uint8Array) => r.take(null, n, b, () => r.calls !== 1) };
        const p = await pausedAfterFirst(fl, rec, clientOptions(fl, fallback, onread), r);
        rec.log('client', `paused after ${r.calls} callback(s), ended ${p.client.readableEnded}`);
        p.client.resume();
        await once(p.client, 'end');
        rec.log('client', `body ${sha256(Buffer.concat(r.got))}`);
        await settle(rec, p);
      },
    },
    {
      name: `pause() inside the callback stops reading as returning false does; read(0) goes on${tag}`,
      async run(fl, rec) {
        const r = reader(rec, 'client', 100);
        let client!: Sock;
        const onread = {
          buffer: new Uint8Array(100),
          callback: (n: number, b: Uint8Array) =>
            r.take(null, n, b, () => {
              if (r.calls === 1) client.pause();
              return true;
            }),
        };
        const p = await pausedAfterFirst(fl, rec, clientOptions(fl, fallback, onread), r, (c) => (client = c));
        rec.log('client', `paused after ${r.calls} callback(s), isPaused ${p.client.isPaused()}`);
        p.client.read(0);
        await once(p.client, 'end');
        rec.log('client', `body ${sha256(Buffer.concat(r.got))}`);
        await settle(rec, p);
      },
    },
    {
      name: `no 'data' events in onread mode, even with a 'data' listener; writes work as usual${tag}`,
      async run(fl, rec) {
        const r = reader(rec, 'client', 4096);
        const onread = { buffer: new Uint8Array(4096), callback: (n: number, b: Uint8Array) => r.take(null, n, b) };
        const p = await pair(fl, rec, {
          client: clientOptions(fl, fallback, onread),
          clientEvents: ['connect', 'data', 'end', 'finish', 'error', 'close'],
          onConnection: (c) => c.on('data', (d: Buffer) => c.write(d)),
        });
        p.client.write(PAYLOAD);
        while (Buffer.concat(r.got).length < PAYLOAD.length) await new Promise((res) => setImmediate(res));
        rec.log('client', `echoed ${Buffer.concat(r.got).equals(PAYLOAD)}`);
        p.client.end();
        await settle(rec, p);
      },
    },
  );
}
scenarios.push({
  name: "errors as usual: the peer's reset reaches an onread Conn as ECONNRESET",
  flavours: ['net-tcp', 'shm-tcp'],
  async run(fl, rec) {
    const r = reader(rec, 'client', 256);
    const onread = { buffer: new Uint8Array(256), callback: (n: number, b: Uint8Array) => r.take(null, n, b) };
    const p = await pair(fl, rec, { client: { onread }, clientEvents: ['connect', 'end', 'error', 'close'], onConnection: (c) => c.write(PAYLOAD) });
    while (Buffer.concat(r.got).length < PAYLOAD.length) await new Promise((res) => setImmediate(res));
    p.conn.resetAndDestroy();
    await closed(p.client);
    rec.log('client', `body ${sha256(Buffer.concat(r.got))}`);
    await settle(rec, p);
  },
});

t.test('onread matches node:net', async (t) => conformance(t, scenarios));

t.test('the option is checked: a bad shape is a coded error from connect(), never ignored', async (t) => {
  const cb = () => true;
  const cases: Array<[unknown, string]> = [
    [null, codes.INVALID_ARG],
    ['yes', codes.INVALID_ARG],
    [{ callback: cb }, codes.INVALID_ARG],
    [{ buffer: [1, 2, 3], callback: cb }, codes.INVALID_ARG],
    [{ buffer: new Uint8Array(8) }, codes.INVALID_ARG],
    [{ buffer: new Uint8Array(8), callback: 'no' }, codes.INVALID_ARG],
    [{ buffer: new Uint8Array(0), callback: cb }, codes.OUT_OF_RANGE],
    [{ buffer: () => 'not a buffer', callback: cb }, codes.INVALID_ARG],
    [{ buffer: () => new Uint8Array(0), callback: cb }, codes.INVALID_ARG],
  ];
  for (const [onread, code] of cases) {
    t.throws(() => connect({ path: '/nonexistent', onread } as never), { code }, JSON.stringify(onread) ?? String(onread));
    // A server calls a buffer function per Conn, not when it is made.
    if (typeof (onread as { buffer?: unknown } | null)?.buffer !== 'function') t.throws(() => createServer({ onread } as never), { code });
  }
  t.throws(() => openChannel(createChannel({ ringSize: 4096 }).port1, { onread: { buffer: 5 } } as never), { code: codes.INVALID_ARG });
});

/** A server whose Conns read with onread; resolves each Conn with its received bytes at 'end'. */
async function serverOnread(t: Test, transport: 'auto' | 'tcp') {
  const got = new Map<Conn, Buffer[]>();
  const selves: unknown[] = [];
  const server = createServer({
    onread: {
      buffer: () => new Uint8Array(333),
      callback(this: Conn, n: number, b: Uint8Array) {
        selves.push(this);
        got.get(this)!.push(Buffer.from(b.subarray(0, n)));
      },
    },
  });
  server.on('connection', (c: Conn) => got.set(c, []));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = connect({ port, host: '127.0.0.1', transport });
  const [conn] = (await once(server, 'connection')) as [Conn];
  got.set(conn, got.get(conn) ?? []);
  const data = Buffer.alloc(100_000, 'abc');
  client.end(data);
  let data$ = 0;
  conn.on('data', () => data$++);
  await once(conn, 'end');
  t.equal(conn.transport, transport === 'auto' ? 'shm' : 'tcp');
  t.ok(Buffer.concat(got.get(conn)!).equals(data), 'every byte arrived through the callback, in order');
  t.ok(selves.every((s) => s === conn), 'the callback runs with its Conn as this');
  t.equal(data$, 0, "no 'data' events");
  t.equal(conn.bytesRead, data.length);
  conn.end();
  await Promise.all([once(conn, 'close'), once(client, 'close')]);
  server.close();
  await once(server, 'close');
}

t.test("createServer's onread reads each accepted Conn (shared memory)", (t) => serverOnread(t, 'auto'));
t.test("createServer's onread reads each accepted Conn (socket fallback)", (t) => serverOnread(t, 'tcp'));

t.test("openChannel's onread: bytes land in the caller's buffer; pause by returning false, resume()", async (t) => {
  const { port1, port2 } = createChannel({ ringSize: 4096, spin: 0 });
  const buf = new Uint8Array(1000);
  const hash = createHash('sha256');
  let calls = 0;
  let bytes = 0;
  let resumeNow!: () => void;
  const paused = new Promise<void>((r) => (resumeNow = r));
  const b = openChannel(port2, {
    onread: {
      buffer: buf,
      callback(n, got) {
        t.equal(got, buf);
        hash.update(got.subarray(0, n));
        bytes += n;
        if (++calls === 3) {
          resumeNow();
          return false;
        }
        return true;
      },
    },
  });
  const a = openChannel(port1);
  a.resume();
  const bothClosed = Promise.all([once(a, 'close'), once(b, 'close')]);
  const data = Buffer.alloc(200_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  a.end(data);
  await paused;
  const at = calls;
  for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
  t.equal(calls, at, 'no callback while paused');
  b.resume();
  await once(b, 'end');
  t.equal(bytes, data.length);
  t.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'), 'SHA-256 matches');
  await bothClosed;
});

t.test('errors as usual: a peer process killed mid-stream gives an onread Conn SHMNET_ERR_PEER_GONE, then close', async (t) => {
  let got = 0;
  let enough!: () => void;
  const flowing = new Promise<void>((r) => (enough = r));
  const server = createServer({
    onread: {
      buffer: new Uint8Array(16 * 1024),
      callback: (n: number) => {
        got += n;
        if (got >= 8 << 20) enough();
      },
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'source', bytes: 0, address: { port, host: '127.0.0.1' } })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  t.equal(conn.transport, 'shm');
  const errP = new Promise<Error & { code?: string }>((r) => conn.once('error', r));
  const closeP = new Promise<boolean>((r) => conn.once('close', r));
  await flowing;
  child.kill('SIGKILL');
  t.equal((await errP).code, codes.PEER_GONE);
  t.equal(await closeP, true, "'close' with hadError");
  await waitExit(child);
  server.close();
  await once(server, 'close');
});
