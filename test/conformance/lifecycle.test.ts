/** Conformance: the common life cycles of a connection, each run on node:net and on shmnet. */
import t from 'tap';
import { once } from 'node:events';
import { closed, closeServer, collect, conformance, pair, settle, sha256, type Scenario } from '../helpers/conformance.js';

const scenarios: Scenario[] = [
  {
    name: 'echo: the server writes back what it reads, the client ends after the reply',
    async run(fl, rec) {
      const p = await pair(fl, rec, { onConnection: (c) => c.on('data', (d) => c.write(d)) });
      p.client.write('hello world');
      let got = 0;
      p.client.on('data', (d: Buffer) => {
        got += d.length;
        if (got === 11) p.client.end();
      });
      await settle(rec, p);
    },
  },
  {
    name: 'a write-only server: it never reads, writes, ends; the client reads to the end',
    covers: '1',
    async run(fl, rec) {
      const payload = Buffer.alloc(100_000, 'w');
      const p = await pair(fl, rec, { serverEvents: ['end', 'finish', 'error', 'close'], onConnection: (c) => c.end(payload) });
      await collect(p.client, (body) => rec.log('client', `body ${sha256(body)}`));
      await settle(rec, p);
    },
  },
  {
    name: 'a read-only client: it never writes; the server writes in pieces and ends',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        onConnection: (c) => {
          for (let i = 0; i < 10; i++) c.write(`piece ${i};`);
          c.end();
        },
      });
      await collect(p.client, (body) => rec.log('client', `body ${body.toString()}`));
      await settle(rec, p);
    },
  },
  {
    name: 'the client ends first (allowHalfOpen false on both)',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['data', 'end', 'finish', 'error', 'close'] });
      p.client.end('bye');
      await settle(rec, p);
    },
  },
  {
    name: 'the server ends first (allowHalfOpen false on both)',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['data', 'end', 'finish', 'error', 'close'], onConnection: (c) => c.end('bye') });
      await settle(rec, p);
    },
  },
  {
    name: 'an unread Conn learns of the peer\'s end: the client ends at once, the server never reads',
    covers: '1',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['end', 'finish', 'error', 'close'] });
      p.client.end();
      await Promise.all([closed(p.client), closed(p.conn)]);
      rec.log('server', `readableEnded ${p.conn.readableEnded} bytesRead ${p.conn.bytesRead}`);
      await closeServer(p.server);
      rec.log('server', 'server closed');
    },
  },
  {
    name: 'server.close() calls back once an unread Conn\'s peer ended',
    covers: '1',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['end', 'finish', 'close'] });
      // Whether the server's callback or the Conn's 'close' comes first is timing in net: a side of its own.
      const cb = closeServer(p.server).then(() => rec.log('server.close', 'close callback'));
      p.client.end();
      await Promise.all([cb, closed(p.client), closed(p.conn)]);
    },
  },
  {
    name: 'end() before any read: the server says bye at once and never reads',
    covers: '1',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['end', 'finish', 'close'], onConnection: (c) => c.end('bye') });
      await collect(p.client, (body) => rec.log('client', `body ${body.toString()}`));
      await settle(rec, p);
    },
  },
  {
    name: 'destroySoon() on an unread Conn',
    covers: '1',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        serverEvents: ['end', 'finish', 'close'],
        onConnection: (c) => {
          c.write('soon');
          c.destroySoon();
        },
      });
      await collect(p.client, (body) => rec.log('client', `body ${body.toString()}`));
      await settle(rec, p);
    },
  },
  {
    name: 'pause() at connect, resume() after the client\'s bytes arrived',
    async run(fl, rec) {
      let resume!: () => void;
      const p = await pair(fl, rec, {
        serverEvents: ['end', 'finish', 'error', 'close'],
        onConnection: (c) => {
          c.pause();
          c.on('data', (d: Buffer) => rec.log('server', `data ${d.length}`));
          resume = () => {
            rec.log('server', `resume; paused ${c.isPaused()}`);
            c.resume();
          };
        },
      });
      p.client.write('abc', () => p.conn.write('ping'));
      await once(p.client, 'data');
      resume();
      p.client.end();
      await settle(rec, p);
    },
  },
  {
    name: 'cork() then uncork(): the corked writes arrive together with their callbacks in order',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['end', 'close'] });
      const body = collect(p.conn, (b) => rec.log('server', `body ${b.toString()}`));
      p.client.cork();
      for (let i = 0; i < 5; i++) p.client.write(`c${i}`, () => rec.log('client', `cb ${i}`));
      rec.log('client', `corked ${p.client.writableCorked} length ${p.client.writableLength}`);
      process.nextTick(() => p.client.uncork());
      p.client.end();
      await body;
      await settle(rec, p);
    },
  },
  {
    name: 'a big string: 3 MiB of multi-byte text in one write',
    async run(fl, rec) {
      const text = 'é€𝄞a'.repeat(300_000);
      const p = await pair(fl, rec, { serverEvents: ['end', 'close'] });
      const body = collect(p.conn, (got) => rec.log('server', `body ${got.length} ${sha256(got)} same ${got.toString('utf8') === text}`));
      p.client.end(text, 'utf8');
      await body;
      await settle(rec, p);
    },
  },
  {
    name: 'many small writes: 20,000 writes of 16 bytes without waiting',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['end', 'close'] });
      let sent = '';
      const body = collect(p.conn, (got) => rec.log('server', `body ${got.length} same ${got.toString() === sent}`));
      for (let i = 0; i < 20_000; i++) {
        const s = `#${String(i).padStart(15, '0')}`;
        sent += s;
        p.client.write(s);
      }
      p.client.end();
      await body;
      await settle(rec, p);
    },
  },
  {
    name: 'allowHalfOpen on the server: after the client ends it still writes, then ends',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        server: { allowHalfOpen: true },
        serverEvents: ['data', 'end', 'finish', 'error', 'close'],
        onConnection: (c) =>
          c.on('end', () => {
            rec.log('server', `writable after end ${c.writable}`);
            c.end('late reply');
          }),
      });
      p.client.end('question');
      await collect(p.client, (body) => rec.log('client', `body ${body.toString()}`));
      await settle(rec, p);
    },
  },
  {
    name: 'allowHalfOpen on the client: after the server ends it still writes, then ends',
    async run(fl, rec) {
      const body: Buffer[] = [];
      const p = await pair(fl, rec, {
        client: { allowHalfOpen: true },
        serverEvents: ['end', 'finish', 'error', 'close'],
        onConnection: (c) => {
          c.on('data', (d: Buffer) => body.push(d));
          c.end('server first');
        },
      });
      p.client.on('end', () => {
        rec.log('client', `writable after end ${p.client.writable}`);
        p.client.end('client after');
      });
      await settle(rec, p);
      rec.log('server', `body ${Buffer.concat(body).toString()}`);
    },
  },
  {
    name: 'server.close() with an open Conn: the callback waits for it',
    async run(fl, rec) {
      const p = await pair(fl, rec);
      const done = new Promise<void>((r) =>
        p.server.close((err) => {
          rec.log('server.close', `close callback ${err ? (err as { code?: string }).code : 'ok'}`);
          r();
        }),
      );
      p.server.on('close', () => rec.log('server.close', 'server close event'));
      rec.log('server', `listening ${p.server.listening}`);
      p.client.write('still works', () => p.client.end());
      await Promise.all([done, closed(p.client), closed(p.conn)]);
    },
  },
];

conformance(t, scenarios);
