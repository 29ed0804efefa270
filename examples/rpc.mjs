// Request/response RPC with MessageConn: JavaScript values (msgpackr) in
// length-prefixed frames over a shmnet Conn, between two processes.
//
//   npm run build && node examples/rpc.mjs
//
// Each request is { id, method, params }; each reply is { id, result } or
// { id, error }. Replies may come back in any order: the client matches
// them by id. send() returns false when the stream is full: wait for 'drain'.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect, createServer, MessageConn } from '../dist/src/index.js';

const methods = {
  add: ([a, b]) => a + b,
  upper: ([s]) => s.toUpperCase(),
  sha256: ([bytes]) => createHash('sha256').update(bytes).digest('hex'),
  slow: async ([ms]) => {
    await new Promise((r) => setTimeout(r, ms));
    return `waited ${ms} ms`;
  },
};

if (process.argv[2] === 'server') {
  const server = createServer((conn) => {
    const rpc = new MessageConn(conn, { maxMessageSize: 8 * 1024 * 1024 });
    rpc.on('message', async ({ id, method, params }) => {
      try {
        if (!(method in methods)) throw new Error(`no method ${method}`);
        rpc.send({ id, result: await methods[method](params) });
      } catch (err) {
        rpc.send({ id, error: err.message });
      }
    });
    rpc.on('end', () => rpc.end());
    rpc.on('error', (err) => console.error(`server: ${err.code}: ${err.message}`));
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => server.close());
} else {
  const child = fork(fileURLToPath(import.meta.url), ['server']);
  const [{ port }] = await once(child, 'message');

  const conn = connect({ port, host: '127.0.0.1' });
  await once(conn, 'connect');
  const rpc = new MessageConn(conn, { maxMessageSize: 8 * 1024 * 1024 });
  const pending = new Map();
  let nextId = 1;
  rpc.on('message', ({ id, result, error }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (error !== undefined) p.reject(new Error(error));
    else p.resolve(result);
  });
  const call = (method, ...params) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      rpc.send({ id, method, params });
    });

  console.log(`transport ${conn.transport}`);
  // Started together; 'slow' answers last.
  const [slow, sum, upper, digest] = await Promise.all([
    call('slow', 50),
    call('add', 2, 40),
    call('upper', 'shared memory'),
    call('sha256', new Uint8Array(1024 * 1024)),
  ]);
  console.log(`add(2, 40) = ${sum}`);
  console.log(`upper('shared memory') = ${upper}`);
  console.log(`sha256(1 MiB of zeros) = ${digest}`);
  console.log(`slow(50) = ${slow}`);
  await call('nope').catch((err) => console.log(`nope() failed: ${err.message}`));

  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: 10_000 }, (_, i) => call('add', i, 1)));
  const ok = results.every((r, i) => r === i + 1);
  console.log(`10000 calls: ${ok ? 'all correct' : 'WRONG'} in ${Math.round(performance.now() - t0)} ms`);

  rpc.end();
  await once(rpc, 'close');
  child.disconnect();
  await once(child, 'exit');
}
