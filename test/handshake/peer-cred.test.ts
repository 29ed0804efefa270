/**
 * Peer credentials come from the kernel on Unix-socket control channels:
 * `conn.peer` on both sides, and the server's uid check uses them, not the
 * uid a client writes in HELLO. Over TCP there are none.
 */
import t from 'tap';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Conn } from '../../src/index.js';
import { otherUser, stageForOtherUser } from '../helpers/other-user.js';
import { waitFor } from '../fixtures/reliability-lib.js';

const unixOnly = process.platform === 'win32' ? 'no Unix-socket credentials on Windows' : false;
const euid = process.geteuid?.() ?? -1;
const egid = process.getegid?.() ?? -1;

async function listenOn(address: string | { port: number; host: string }) {
  const conns: Conn[] = [];
  const server = createServer({ ringSize: 4096 }, (c) => {
    conns.push(c);
    c.on('error', () => {});
    c.pipe(c);
  });
  if (typeof address === 'string') server.listen(address);
  else server.listen(address.port, address.host);
  await once(server, 'listening');
  return { server, conns };
}

t.test('over a Unix socket both sides see the other process as the kernel knows it', { skip: unixOnly }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-cred-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const { server, conns } = await listenOn(path);
  t.teardown(() => void server.close());
  const client = connect({ path });
  await once(client, 'connect');
  t.ok(await waitFor(() => conns.length === 1, 30_000), 'the server has the Conn');
  t.same(conns[0]!.peer, { pid: process.pid, uid: euid, gid: egid }, 'server side: conn.peer is this process');
  t.same(client.peer, { pid: process.pid, uid: euid, gid: egid }, 'client side: conn.peer is the server process');
  client.destroy();
  await once(client, 'close');
});

t.test('over TCP there are no credentials: conn.peer is null', async (t) => {
  const { server, conns } = await listenOn({ port: 0, host: '127.0.0.1' });
  t.teardown(() => void server.close());
  const client = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1' });
  await once(client, 'connect');
  t.ok(await waitFor(() => conns.length === 1, 30_000));
  t.equal(conns[0]!.peer, null);
  t.equal(client.peer, null);
  client.destroy();
  await once(client, 'close');
});

const other = otherUser();
t.test('a client running as nobody that claims our uid in HELLO is judged by its real uid', { skip: unixOnly || (typeof other === 'string' ? other : false) }, async (t) => {
  const who = other as { uid: number; gid: number };
  const staged = stageForOtherUser(['peer-cred-liar.ts']);
  t.teardown(() => staged.remove());
  // The socket lives in a directory nobody may enter, and nobody may connect to it.
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-cred-'));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const { server, conns } = await listenOn(path);
  t.teardown(() => void server.close());
  chmodSync(path, 0o777);
  const r = await staged.run('peer-cred-liar.ts', [path, String(euid)], who);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
  t.equal(out.uid, who.uid, `the client ran as uid ${who.uid} and claimed uid ${euid}`);
  t.equal(out.reply, 'fallback', 'no region for it: the socket');
  t.match(out.reason, new RegExp(`uid ${who.uid} and the server as uid ${euid}`), 'the reason names its real uid');
  t.ok(await waitFor(() => conns.length === 1, 30_000), 'the server made a Conn of it');
  t.equal(conns[0]!.transport, 'tcp');
  t.same(conns[0]!.peer, { pid: out.pid, uid: who.uid, gid: who.gid }, 'conn.peer holds the real pid, uid and gid');
});
