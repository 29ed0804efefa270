/** Conformance: destroy() from each side at each stage, resetAndDestroy(), writes after the peer's end. */
import t from 'tap';
import { once } from 'node:events';
import { closeServer, codeOf, conformance, pair, settle, type Flavour, type Recorder, type Scenario, type Sock } from '../helpers/conformance.js';

type Side = 'client' | 'server';
type Stage = 'at once' | 'after data' | 'after its own end()' | 'after the peer ended';

/**
 * destroy() by `side` at `stage`; the other side writes only when the stage
 * waits for its data (a write racing a close is ECONNRESET or EPIPE in net,
 * depending on timing), and reads everything.
 */
function destroyAt(side: Side, stage: Stage): Scenario {
  return {
    name: `destroy() by the ${side} ${stage}`,
    async run(fl: Flavour, rec: Recorder) {
      let act!: (s: Sock) => void;
      const stagePromise = new Promise<void>((resolve) => {
        act = (s: Sock) => {
          const go = () => {
            rec.log(side, 'destroy()');
            s.destroy();
            resolve();
          };
          if (stage === 'at once') go();
          else if (stage === 'after data') s.once('data', go);
          else if (stage === 'after its own end()') {
            s.end('last words');
            s.once('finish', go);
          } else s.once('end', go);
        };
      });
      const p = await pair(fl, rec, {
        server: { allowHalfOpen: true },
        client: { allowHalfOpen: true },
        serverEvents: ['data', 'end', 'finish', 'error', 'close'],
        onConnection: (c) => {
          if (side === 'server') act(c);
          else if (stage === 'after data') c.write('from server');
          if (side === 'client' && stage === 'after the peer ended') c.end();
        },
      });
      const me = side === 'client' ? p.client : p.conn;
      const peer = side === 'client' ? p.conn : p.client;
      if (side === 'client') {
        if (stage === 'at once' && p.client.connecting) await once(p.client, 'connect');
        act(p.client);
      } else {
        if (stage === 'after data') p.client.write('from client');
        if (stage === 'after the peer ended') p.client.end();
      }
      await stagePromise;
      // The peer may still be writing: it ends once it heard of the close.
      if (peer.readableEnded) peer.end();
      else peer.on('end', () => peer.end());
      rec.log(side, `destroyed ${me.destroyed}`);
      await settle(rec, p);
    },
  };
}

/**
 * net refuses resetAndDestroy() on a Unix socket (ERR_INVALID_HANDLE_TYPE);
 * shmnet resets over every transport (README), so both shmnet flavours
 * behave as net over TCP.
 */
const OVER_TCP: Pick<Scenario, 'covers' | 'flavours' | 'reference'> = { covers: '3', flavours: ['net-tcp', 'shm-unix', 'shm-tcp'], reference: () => 'net-tcp' };

const stages: Stage[] = ['at once', 'after data', 'after its own end()', 'after the peer ended'];

const scenarios: Scenario[] = [
  ...stages.flatMap((stage) => [destroyAt('client', stage), destroyAt('server', stage)]),
  {
    name: 'destroy() by the client right after connect(), before the connection exists',
    async run(fl, rec) {
      const server = fl.createServer({});
      const target = await fl.listen(server);
      const c = fl.connect(target);
      rec.watch('client', c);
      c.destroy();
      rec.log('client', `destroyed ${c.destroyed} connecting ${c.connecting} readyState ${c.readyState}`);
      await once(c, 'close');
      await closeServer(server);
      rec.log('server', 'server closed');
    },
  },
  {
    name: 'destroy(err) by the client: its own error, the peer sees the end',
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['data', 'end', 'finish', 'error', 'close'] });
      p.client.destroy(Object.assign(new Error('mine'), { code: 'EMINE' }));
      rec.log('client', `errored ${p.client.errored ? 'yes' : 'no'}`);
      await settle(rec, p);
    },
  },
  {
    name: 'destroy() twice and end() after destroy() are harmless',
    async run(fl, rec) {
      const p = await pair(fl, rec);
      p.client.destroy();
      p.client.destroy();
      p.client.end();
      rec.log('client', p.client.write('x', (err) => rec.log('client', `write cb ${err ? (err as { code?: string }).code : 'ok'}`)));
      await settle(rec, p);
    },
  },
  {
    name: 'resetAndDestroy(): the peer gets ECONNRESET',
    ...OVER_TCP,
    async run(fl, rec) {
      const p = await pair(fl, rec, { serverEvents: ['data', 'end', 'finish', 'error', 'close'] });
      rec.log('client', 'resetAndDestroy()');
      p.client.resetAndDestroy();
      await settle(rec, p);
    },
  },
  {
    name: 'resetAndDestroy() before the connection exists',
    ...OVER_TCP,
    async run(fl, rec) {
      const server = fl.createServer({});
      const target = await fl.listen(server);
      const c = fl.connect(target);
      rec.watch('client', c);
      c.resetAndDestroy();
      await once(c, 'close');
      await closeServer(server);
      rec.log('server', 'server closed');
    },
  },
  {
    name: 'a write after the peer\'s end with allowHalfOpen false fails with EPIPE',
    covers: '11',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        serverEvents: ['end', 'finish', 'error', 'close'],
        onConnection: (c) =>
          c.on('end', () => {
            const ok = c.write('too late', (err) => rec.log('server', `write cb ${err ? codeOf(err) : 'ok'}`));
            rec.log('server', `write returned ${ok}`);
          }),
      });
      p.client.end();
      await settle(rec, p);
    },
  },
  {
    name: 'a write once both ends ended (allowHalfOpen false) fails with EPIPE',
    covers: '11',
    async run(fl, rec) {
      const p = await pair(fl, rec, {
        serverEvents: ['end', 'finish', 'error', 'close'],
        onConnection: (c) =>
          c.on('finish', () => {
            rec.log('server', `writableEnded ${c.writableEnded} readableEnded ${c.readableEnded}`);
            const ok = c.write('too late', (err) => rec.log('server', `write cb ${err ? codeOf(err) : 'ok'}`));
            rec.log('server', `write returned ${ok}`);
          }),
      });
      p.client.end();
      await settle(rec, p);
    },
  },
  {
    name: 'a write after its own end() fails with ERR_STREAM_WRITE_AFTER_END',
    async run(fl, rec) {
      const p = await pair(fl, rec);
      p.client.end();
      p.client.write('after end', (err) => rec.log('client', `write cb ${err ? (err as { code?: string }).code : 'ok'}`));
      await settle(rec, p);
    },
  },
];

conformance(t, scenarios);
