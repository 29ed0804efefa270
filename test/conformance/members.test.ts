/** Conformance: the members, options and server features of the net API, each run on node:net and on shmnet. */
import t from 'tap';
import { EventEmitter, once } from 'node:events';
import {
  ACCEPTED_EVENTS,
  attempt,
  closed,
  closeServer,
  codeOf,
  collect,
  conformance,
  counters,
  pair,
  settle,
  type Flavour,
  type Recorder,
  type Scenario,
  type Sock,
  type Srv,
} from '../helpers/conformance.js';

/** What a dispose symbol is on `o`: absent, or a function. */
function has(o: object, sym: symbol | undefined): string {
  return sym === undefined ? 'no symbol' : typeof (o as Record<symbol, unknown>)[sym];
}

/** Pauses-at-connect check: waits until the client's bytes have had every chance to arrive (a ping round trip), then resumes. */
async function pingThenResume(rec: Recorder, client: Sock, conn: Sock): Promise<void> {
  await new Promise<void>((r) => client.write('abc', () => r()));
  conn.write('ping');
  await once(client, 'data');
  rec.log('server', `resume; paused ${conn.isPaused()} readableLength ${conn.readableLength}`);
  conn.resume();
}

/** Connects with `{ [key]: value }` and records whether that was accepted and the connection worked. */
async function tryConnectOption(fl: Flavour, rec: Recorder, server: Srv, target: object, key: string, value: unknown): Promise<void> {
  let c: Sock | undefined;
  const r = attempt(() => {
    c = fl.connect(target as { path: string }, { [key]: value });
  });
  if (c === undefined) {
    rec.log('options', `${key}: ${r}`);
    return;
  }
  const s = c;
  const outcome = await new Promise<string>((resolve) => {
    s.once('connect', () => resolve('connects'));
    s.once('error', (err) => resolve(`error ${codeOf(err)}`));
  });
  rec.log('options', `${key}: ${r}, ${outcome}`);
  s.destroy();
  await closed(s);
}

const CONNECT_OPTIONS: Array<[string, (fl: Flavour) => unknown]> = [
  ['allowHalfOpen', () => true],
  ['timeout', () => 10_000],
  ['noDelay', () => true],
  ['keepAlive', () => true],
  ['keepAliveInitialDelay', () => 1000],
  ['highWaterMark', () => 1024],
  ['readableHighWaterMark', () => 1024],
  ['writableHighWaterMark', () => 1024],
  ['signal', () => new AbortController().signal],
  ['family', (fl) => (fl.family === 'tcp' ? 4 : undefined)],
  ['localAddress', (fl) => (fl.family === 'tcp' ? '127.0.0.1' : undefined)],
  ['lookup', () => undefined],
  ['autoSelectFamily', () => false],
];

/** Options shmnet refuses (README, "How it differs from node:net"). */
const REFUSED_CONNECT = ['fd', 'signal'];

const scenarios: Scenario[] = [
  {
    name: 'bytesWritten counts what write() accepted, pending bytes included; bufferSize',
    covers: '5 6',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        serverEvents: ['end', 'close'],
        onClient: (c) => {
          c.write(Buffer.alloc(2 << 20, 1));
          c.write('abcé');
          rec.log('client', `before connect: bytesWritten ${c.bytesWritten} bufferSize ${c.bufferSize} writableLength ${c.writableLength}`);
          c.once('finish', () => rec.log('client.finish', `at finish: bytesWritten ${c.bytesWritten} bufferSize ${c.bufferSize}`));
        },
      });
      const body = collect(p.conn, (b) => rec.log('server', `body ${b.length}`));
      p.client.end();
      await body;
      await settle(rec, p);
    },
  },
  {
    name: 'an accepted Conn: server, bufferSize, timeout (writable), addresses',
    covers: '6',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        onConnection: (c, server) => {
          rec.log('server', `server ${c.server === server}`);
          rec.log('server', `bufferSize ${typeof c.bufferSize} ${c.bufferSize}`);
          rec.log('server', `timeout ${c.timeout}`);
          rec.log('server', `assign timeout ${attempt(() => ((c as { timeout: number | undefined }).timeout = 0))} -> ${c.timeout}`);
          c.setTimeout(5000);
          rec.log('server', `after setTimeout ${c.timeout}`);
          c.setTimeout(0);
          rec.log('server', `after setTimeout(0) ${c.timeout}`);
          rec.log('server', `remoteAddress ${typeof c.remoteAddress} remotePort ${typeof c.remotePort} localAddress ${typeof c.localAddress}`);
        },
      });
      if (p.client.connecting) await once(p.client, 'connect');
      rec.log('client', `autoSelectFamilyAttemptedAddresses ${JSON.stringify(p.client.autoSelectFamilyAttemptedAddresses)}`);
      rec.log('client', `remoteAddress ${typeof p.client.remoteAddress} remotePort ${typeof p.client.remotePort}`);
      rec.log('client', `readyState ${p.client.readyState} pending ${p.client.pending} connecting ${p.client.connecting}`);
      p.client.end();
      await settle(rec, p);
    },
  },
  {
    name: 'setTimeout() on each side: \'timeout\' fires once per idle period, setTimeout(0) disarms',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        onConnection: (c) => {
          c.setTimeout(30, () => {
            rec.log('server', `timeout callback ${c.timeout}`);
            c.setTimeout(0);
            rec.log('server', `disarmed ${c.timeout}`);
            c.write('wake');
          });
        },
      });
      await once(p.client, 'data');
      p.client.setTimeout(30);
      await once(p.client, 'timeout');
      p.client.setTimeout(0);
      rec.log('client', `disarmed ${p.client.timeout}`);
      p.client.end();
      await settle(rec, p);
    },
  },
  {
    name: 'Server() without new; server.close() with a non-function argument',
    covers: '7',
    async run(fl, rec) {
      let s: Srv | undefined;
      rec.log('server', `Server() ${attempt(() => (s = (fl.lib.Server as () => Srv)()))}`);
      if (s === undefined) return;
      rec.log('server', `instanceof ${s instanceof (fl.lib.Server as typeof EventEmitter)}`);
      const target = await fl.listen(s);
      const c = fl.connect(target);
      const [conn] = (await once(s, 'connection')) as [Sock];
      rec.log('server', `close('x') ${attempt(() => s!.close('x' as unknown as () => void))}`);
      rec.log('server', `listening ${s.listening}`);
      c.end();
      conn.end();
      await Promise.all([closed(c), closed(conn)]);
      if (s.listening) await closeServer(s);
      rec.log('server', `listening ${s.listening}`);
    },
  },
  {
    name: 'createServer({ pauseOnConnect: true }): no data before resume()',
    covers: '8',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        server: { pauseOnConnect: true },
        serverEvents: ['data', 'end', 'finish', 'error', 'close'],
        onConnection: (c) => rec.log('server', `paused ${c.isPaused()} flowing ${c.readableFlowing}`),
      });
      await pingThenResume(rec, p.client, p.conn);
      p.client.end();
      await settle(rec, p);
    },
  },
  {
    name: 'captureRejections: a rejected async \'connection\' listener destroys that Conn with the error',
    covers: '9',
    async run(fl, rec) {
      const before = EventEmitter.captureRejections;
      EventEmitter.captureRejections = true;
      let server: Srv;
      try {
        server = fl.createServer({});
      } finally {
        EventEmitter.captureRejections = before;
      }
      server.on('error', (err) => rec.log('server', `server error ${codeOf(err)}`));
      server.on('connection', (c: Sock) => {
        rec.watch('server', c, ACCEPTED_EVENTS);
        counters(rec, 'server', c);
      });
      server.on('connection', async () => {
        await Promise.resolve();
        throw Object.assign(new Error('listener failed'), { code: 'ELISTENER' });
      });
      const target = await fl.listen(server);
      const c = fl.connect(target);
      rec.watch('client', c);
      const [conn] = (await once(server, 'connection')) as [Sock];
      await closed(conn);
      await closed(c);
      await closeServer(server);
      rec.log('server', 'server closed');
    },
  },
  {
    name: 'Symbol.asyncDispose on the Server, dispose symbols on a Conn',
    covers: '10',
    async run(fl, rec) {
      const p = await pair(fl, rec);
      rec.log('server', `Server asyncDispose ${has(p.server, Symbol.asyncDispose)}`);
      rec.log('client', `dispose ${has(p.client, Symbol.dispose)} asyncDispose ${has(p.client, Symbol.asyncDispose)}`);
      const srvDispose = (p.server as unknown as Record<symbol, (() => Promise<void>) | undefined>)[Symbol.asyncDispose];
      const connDispose = (p.client as unknown as Record<symbol, (() => Promise<void>) | undefined>)[Symbol.asyncDispose];
      if (connDispose) {
        await connDispose.call(p.client);
        rec.log('client', `after asyncDispose destroyed ${p.client.destroyed}`);
      } else {
        p.client.end();
      }
      if (srvDispose) {
        await srvDispose.call(p.server);
        rec.log('server', `after asyncDispose listening ${p.server.listening}`);
      }
      await Promise.all([closed(p.client), closed(p.conn)]);
      if (p.server.listening) await closeServer(p.server);
    },
  },
  {
    name: 'connect() again on a closed client',
    covers: '12',
    documented: {
      reason: 'a Conn is not reconnected: connect() on it throws SHMNET_ERR_UNSUPPORTED',
      expectShm: (o) => ({
        ...o,
        client: [...o.client!.slice(0, o.client!.indexOf('reconnect ok')), 'reconnect throws SHMNET_ERR_UNSUPPORTED'],
        server: ['connection 1'],
      }),
    },
    async run(fl, rec) {
      const server = fl.createServer({ allowHalfOpen: false });
      let n = 0;
      server.on('connection', (c: Sock) => {
        rec.log('server', `connection ${++n}`);
        c.resume();
      });
      const target = await fl.listen(server);
      const c = fl.connect(target);
      rec.watch('client', c, ['connect', 'end', 'error', 'close']);
      await once(c, 'connect');
      c.end();
      await closed(c);
      const r = attempt(() => (c as unknown as { connect(t: object): void }).connect(target));
      rec.log('client', `reconnect ${r}`);
      if (r === 'ok') {
        await once(c, 'connect');
        c.end();
        await closed(c);
      }
      await closeServer(server);
    },
  },
  {
    name: 'the onread option of connect() (more in test/stream/onread.test.ts)',
    covers: '13',
    async run(fl, rec) {
      const server = fl.createServer({}, (c: Sock) => c.end('hello onread'));
      const target = await fl.listen(server);
      let total = 0;
      let c: Sock | undefined;
      const r = attempt(() => {
        c = fl.connect(target, {
          onread: {
            buffer: Buffer.alloc(4),
            callback: (n: number) => {
              total += n;
              return true;
            },
          },
        });
      });
      rec.log('client', `connect ${r}`);
      if (c === undefined) {
        await closeServer(server);
        return;
      }
      rec.watch('client', c, ['connect', 'data', 'end', 'close']);
      await closed(c);
      rec.log('client', `onread got ${total}`);
      await closeServer(server);
    },
  },
  {
    name: 'every option of connect() is honoured or refused, never ignored',
    covers: '13',
    documented: {
      reason: 'fd and signal are refused with SHMNET_ERR_UNSUPPORTED',
      expectShm: (o) => ({
        options: o.options!.map((e) => {
          const key = String(e).split(':')[0]!;
          return REFUSED_CONNECT.includes(key) ? `${key}: throws SHMNET_ERR_UNSUPPORTED` : e;
        }),
      }),
    },
    async run(fl, rec) {
      const server = fl.createServer({}, (c: Sock) => c.resume());
      const target = await fl.listen(server);
      for (const [key, value] of CONNECT_OPTIONS) {
        const v = value(fl);
        if (v !== undefined || key === 'lookup') await tryConnectOption(fl, rec, server, target, key, v);
      }
      const r = attempt(() => fl.connect(target, { fd: 99999 }).on('error', () => {}).destroy());
      rec.log('options', `fd: ${r}`);
      const onread = attempt(() => fl.connect(target, { onread: { buffer: Buffer.alloc(4), callback: () => true } }).destroy());
      rec.log('options', `onread: ${onread}`);
      await closeServer(server);
    },
  },
  {
    name: 'every option of createServer() is honoured or refused, never ignored',
    covers: '13',
    async run(fl, rec) {
      const options: Array<[string, unknown]> = [
        ['allowHalfOpen', true],
        ['pauseOnConnect', false],
        ['noDelay', true],
        ['keepAlive', true],
        ['keepAliveInitialDelay', 1000],
        ['highWaterMark', 1024],
      ];
      for (const [key, value] of options) {
        let s: Srv | undefined;
        const r = attempt(() => (s = fl.createServer({ [key]: value })));
        if (s === undefined) {
          rec.log('options', `${key}: ${r}`);
          continue;
        }
        const target = await fl.listen(s);
        const c = fl.connect(target);
        const [conn] = (await once(s, 'connection')) as [Sock];
        rec.log('options', `${key}: ${r}, connects`);
        c.destroy();
        conn.destroy();
        await closeServer(s);
      }
    },
  },
  {
    name: 'maxConnections: a connection beyond the limit is dropped',
    documented: {
      reason: "'connect' fires after the handshake: the dropped client never connects and gets SHMNET_ERR_PEER_GONE",
      expectShm: (o) => ({ ...o, second: ['error SHMNET_ERR_PEER_GONE', 'close true'] }),
    },
    async run(fl, rec) {
      const p = await pair(fl, rec, { server: {} });
      p.server.maxConnections = 1;
      p.server.on('drop', () => rec.log('server', 'drop'));
      const second = fl.connect(p.target);
      rec.watch('second', second, ['connect', 'end', 'error', 'close']);
      await closed(second);
      p.client.end();
      await settle(rec, p);
    },
  },
];

conformance(t, scenarios);
