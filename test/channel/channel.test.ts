/**
 * Worker channels within one thread: argument checks, plain port
 * objects, the Conn contract (data both ways, half-open, 'end' before
 * 'close', destroy), and ref()/unref() deciding whether a waiting channel
 * keeps the process alive.
 */
import t from 'tap';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { Conn } from '../../src/index.js';
import { runFixtureWith } from '../helpers/peer.js';

t.test('createChannel checks its options', async (t) => {
  t.throws(() => createChannel({ ringSize: 5000 }), { code: 'SHMNET_ERR_OUT_OF_RANGE' });
  t.throws(() => createChannel({ ringSize: 1024 }), { code: 'SHMNET_ERR_OUT_OF_RANGE' });
  t.throws(() => createChannel({ spin: -1 }), { code: 'SHMNET_ERR_INVALID_ARG' });
  t.throws(() => createChannel('big' as never), { code: 'SHMNET_ERR_INVALID_ARG' });
});

t.test('ports are plain data, open once, and are checked', async (t) => {
  const { port1, port2 } = createChannel({ ringSize: 64 * 1024, spin: 10 });
  t.same(Object.keys(port1).sort(), ['buffer', 'ringSize', 'shmnetChannel', 'side', 'spin']);
  t.ok(port1.buffer instanceof SharedArrayBuffer);
  t.equal(port1.buffer, port2.buffer, 'both ports hold the same region');
  t.equal(Object.getPrototypeOf(port1), Object.prototype, 'a plain object');
  const clone = structuredClone(port2);
  t.not(clone, port2);
  const a = openChannel(port1);
  const b = openChannel(clone);
  t.ok(a instanceof Conn && b instanceof Conn, 'openChannel returns a Conn');
  t.throws(() => openChannel(port1), { code: 'SHMNET_ERR_EXISTS' }, 'a port opens once');
  t.throws(() => openChannel(port2), { code: 'SHMNET_ERR_EXISTS' }, 'its clones share the claim');
  t.throws(() => openChannel({} as never), { code: 'SHMNET_ERR_INVALID_ARG' });
  t.throws(() => openChannel({ ...port1, shmnetChannel: 99 }), { code: 'SHMNET_ERR_UNSUPPORTED' });
  t.throws(() => openChannel({ ...port1, side: 2 as 0 }), { code: 'SHMNET_ERR_INVALID_ARG' });
  t.throws(() => openChannel({ ...port1, ringSize: 128 * 1024 }), { code: 'SHMNET_ERR_INVALID_ARG' });
  t.throws(() => openChannel({ ...port1, buffer: new SharedArrayBuffer(8192) }), { code: 'SHMNET_ERR_RING_CORRUPT' });
  a.destroy();
  b.destroy();
});

t.test('a Conn both ways, with connect, end before close', async (t) => {
  const { port1, port2 } = createChannel({ ringSize: 64 * 1024 });
  const a = openChannel(port1);
  const b = openChannel(port2);
  t.equal(a.connecting, false);
  t.equal(a.transport, 'channel');
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  const order: string[] = [];
  const got: Buffer[] = [];
  b.on('data', (d: Buffer) => got.push(d));
  b.on('end', () => order.push('end'));
  b.on('close', () => order.push('close'));
  const fromB: Buffer[] = [];
  a.on('data', (d: Buffer) => fromB.push(d));
  const aEnded = once(a, 'end');
  const bClosed = once(b, 'close');
  b.write('ping, ');
  const big = Buffer.alloc(1024 * 1024, 9); // 16× the ring
  a.write(big);
  a.end();
  b.write('pong');
  // allowHalfOpen is off (as in net): b ends its side once a's end arrives.
  await aEnded;
  t.equal(Buffer.concat(fromB).toString(), 'ping, pong');
  await bClosed;
  t.equal(Buffer.concat(got).length, big.length, 'everything written before end() arrived');
  t.same(order, ['end', 'close']);
  t.equal(a.bytesWritten, big.length);
  t.equal(b.bytesRead, big.length);
});

t.test('half-open: the other side keeps writing after our end', async (t) => {
  const { port1, port2 } = createChannel({ ringSize: 64 * 1024 });
  const a = openChannel(port1, { allowHalfOpen: true });
  const b = openChannel(port2, { allowHalfOpen: true });
  const request: Buffer[] = [];
  b.on('data', (d: Buffer) => request.push(d));
  const bEnded = once(b, 'end');
  a.end('request');
  await bEnded;
  t.equal(Buffer.concat(request).toString(), 'request');
  t.equal(b.writable, true, 'b can still write');
  const replies: Buffer[] = [];
  a.on('data', (x: Buffer) => replies.push(x));
  const aEnded = once(a, 'end');
  const closed = Promise.all([once(a, 'close'), once(b, 'close')]);
  b.write('reply 1, ');
  b.end('reply 2');
  await aEnded;
  t.equal(Buffer.concat(replies).toString(), 'reply 1, reply 2');
  await closed;
});

t.test('destroy() ends the stream for the other side', async (t) => {
  const { port1, port2 } = createChannel({ ringSize: 64 * 1024 });
  const a = openChannel(port1);
  const b = openChannel(port2);
  const got: Buffer[] = [];
  b.on('data', (d: Buffer) => got.push(d));
  const errors: unknown[] = [];
  b.on('error', (e) => errors.push(e));
  a.write('last words');
  a.destroy();
  await once(b, 'close');
  t.equal(Buffer.concat(got).toString(), 'last words', 'bytes written before destroy() arrive');
  t.same(errors, [], 'a deliberate close is not PEER_GONE');
  t.ok((b.stats() as { channel?: boolean }).channel);
});

t.test('after the peer closed, all it left in the ring is read, over many turns of the loop', async (t) => {
  const { port1, port2 } = createChannel({ ringSize: 16 * 1024 * 1024 });
  const a = openChannel(port1);
  const b = openChannel(port2);
  const sent = randomBytes(8 * 1024 * 1024); // 8 drain budgets
  t.equal(a.write(sent), true, 'fits in the ring at once');
  a.destroy();
  // Paused mode: nothing but our read() calls asks for more.
  const got: Buffer[] = [];
  b.on('readable', () => {
    let d: Buffer | null;
    while ((d = b.read()) !== null) got.push(d);
  });
  const errors: unknown[] = [];
  b.on('error', (e) => errors.push(e));
  await once(b, 'end');
  t.ok(Buffer.concat(got).equals(sent), `all ${sent.length} bytes, in order`);
  t.same(errors, []);
  b.destroy();
});

t.test('unref(): a waiting channel lets the process exit', async (t) => {
  const r = await runFixtureWith(['env'], 'channel-refs.ts', ['unref']);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim(), 'exit-idle', 'exited with the reader still waiting, no data');
});

t.test('ref() (default): a waiting channel keeps the process alive', async (t) => {
  const r = await runFixtureWith(['env'], 'channel-refs.ts', ['ref']);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim(), 'got data: late\nexit-closed', 'stayed alive for the late write, then exited');
});
