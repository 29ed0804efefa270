/**
 * The receiving peer of direction.ts, in its own process. On
 * `{ cmd: 'serve', path, allocation }` it listens on `path` and receives
 * one connection (the bench writes as the client); on
 * `{ cmd: 'dial', path, allocation }` it connects to the bench's server
 * and receives (the bench writes as the server). Either way it counts the
 * bytes until 'end', ends its side and reports `{ event: 'got', bytes }`.
 */
import type { Conn } from '../src/index.js';
import { connect, createServer } from '../src/index.js';
import { setReceiveAllocation, type ReceiveAllocation } from '../src/stream/receive-pool.js';

interface Cmd {
  cmd: 'serve' | 'dial' | 'exit';
  path: string;
  allocation: ReceiveAllocation;
}

function receive(conn: Conn, done: () => void): void {
  let bytes = 0;
  conn.on('data', (d: Buffer) => void (bytes += d.length));
  conn.on('error', () => {});
  conn.once('end', () => {
    conn.end();
    process.send!({ event: 'got', bytes });
    done();
  });
}

process.on('message', (m: Cmd) => {
  if (m.cmd === 'exit') process.exit(0);
  setReceiveAllocation(m.allocation);
  if (m.cmd === 'dial') {
    receive(connect({ path: m.path }), () => {});
    return;
  }
  const server = createServer((conn) => receive(conn, () => server.close()));
  server.listen(m.path, () => process.send!({ event: 'listening' }));
});
process.send!({ event: 'ready' });
