/**
 * The wrapper around Node's private socket fields: checked on the running
 * Node, so a release that changes them fails here rather than in a
 * handshake.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdReading, pipeFd, releaseReading } from '../../src/handshake/pipe-handle.js';
import * as native from '../../src/native.js';

const linux = process.platform === 'linux' ? false : 'descriptor passing is Linux-only';

async function pair(t: Test, listen: (s: Server) => void): Promise<[Socket, Socket]> {
  const server = createServer();
  t.teardown(() => server.close());
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  listen(server);
  await once(server, 'listening');
  const addr = server.address();
  const client = typeof addr === 'string' ? connect(addr) : connect(addr!.port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  t.teardown(() => {
    client.destroy();
    peer.destroy();
  });
  return [client, peer];
}

function unixPath(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-pipe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 's.sock');
}

t.test('a Unix socket has a descriptor, a TCP or destroyed socket has none', { skip: linux }, async (t) => {
  const [client, peer] = await pair(t, (s) => s.listen(unixPath(t)));
  t.ok(pipeFd(client) >= 0, 'client end');
  t.ok(pipeFd(peer) >= 0, 'accepted end');
  t.not(pipeFd(client), pipeFd(peer));
  const [tcp] = await pair(t, (s) => s.listen(0, '127.0.0.1'));
  t.equal(pipeFd(tcp), -1, 'TCP');
  t.equal(holdReading(tcp), false, 'a TCP socket cannot be held');
  client.destroy();
  t.equal(pipeFd(client), -1, 'destroyed');
});

t.test('while held, the stream does not read: the descriptor byte is left for recvmsg, then reading resumes', { skip: linux }, async (t) => {
  const [reader, writer] = await pair(t, (s) => s.listen(unixPath(t)));
  const got: Buffer[] = [];
  reader.on('data', (b: Buffer) => got.push(b));
  reader.pause();
  t.equal(holdReading(reader), true);
  // What the stream does when it wants more (a read(0) scheduled before the
  // hold, or resume()): without the flag, _read() would restart libuv.
  reader.resume();
  (reader as unknown as { _read(n: number): void })._read(16384);
  const { handle } = native.memfdCreate('shmnet-test', 4096);
  native.sendFd(pipeFd(writer), handle);
  native.handleClose(handle);
  // The byte is in the socket's buffer once sendmsg returns: let the loop
  // pass its poll phase, where libuv would read it (and close the
  // descriptor) if the hold did not work.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  const deadline = Date.now() + 30_000;
  let fd: number | null = null;
  while (fd === null && Date.now() < deadline) {
    fd = native.recvFd(pipeFd(reader));
    if (fd === null) await new Promise((r) => setTimeout(r, 5));
  }
  t.not(fd, null, 'the descriptor arrived through recvmsg, not swallowed by libuv');
  t.equal(native.handleSize(fd!), 4096, 'it is the memfd that was sent');
  native.handleClose(fd!);
  t.same(got, [], 'no data event while held');
  releaseReading(reader);
  writer.write('after');
  while (Buffer.concat(got).toString() !== 'after') await once(reader, 'data');
  t.equal(Buffer.concat(got).toString(), 'after', 'reading resumed');
});
