/**
 * Containers share a kernel but not a hostname, a /dev/shm or a network.
 * Over a Unix socket (a shared volume) the memfd that arrives decides:
 * a client with its own UTS, mount, IPC and PID namespaces (own hostname,
 * private /dev/shm) still gets shared memory. Over TCP from another network
 * namespace that is also another "host" (own hostname and /dev/shm), the
 * host id decides and the client gets the socket, every byte intact.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Conn } from '../../src/index.js';
import { runFixtureWith } from '../helpers/peer.js';

const BYTES = 16 << 20;

function canRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function why(): string | false {
  if (process.platform !== 'linux') return 'namespaces are Linux-only';
  if (process.geteuid?.() !== 0) return 'making namespaces and mounts needs root';
  if (!canRun('unshare', ['--uts', '--mount', '--ipc', '--pid', '--fork', 'true'])) return 'unshare cannot make namespaces here';
  return false;
}
const cannot = why();

async function echoServer(address: string | { port: number; host: string }) {
  const conns: Conn[] = [];
  const from: Array<string | undefined> = [];
  const server = createServer({ ringSize: 65536 }, (c) => {
    conns.push(c);
    from.push(c.remoteAddress);
    c.on('error', () => {});
    c.pipe(c);
  });
  if (typeof address === 'string') server.listen(address);
  else server.listen(address.port, address.host);
  await once(server, 'listening');
  return { server, conns, from };
}

/** The last stdout line of a container-client run, parsed. */
function report(r: { code: number | null; stdout: string; stderr: string }): any {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return line.startsWith('{') ? JSON.parse(line) : { unparsed: r.stdout, stderr: r.stderr };
}

t.test('a client in its own UTS/mount/IPC/PID namespaces, through a shared socket path, gets memfd shared memory', { skip: cannot }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-ns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const { server, conns } = await echoServer(path);
  t.teardown(() => void server.close());
  const cfg = JSON.stringify({ address: { path }, bytes: BYTES });
  // In the new namespaces: another hostname, and a private (empty, 1 MiB) /dev/shm.
  const r = await runFixtureWith(
    ['unshare', '--uts', '--mount', '--ipc', '--pid', '--fork', 'sh', '-c', 'hostname shmnet-container && mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$@"', 'sh'],
    'container-client.ts',
    [cfg],
  );
  const out = report(r);
  t.equal(r.code, 0, r.stderr);
  t.equal(out.hostname, 'shmnet-container', `its hostname is its own (ours: ${hostname()})`);
  t.equal(out.transport, 'shm', 'shared memory, although the host ids differ');
  t.equal(out.segment, 'memfd', 'through the descriptor, not a /dev/shm name');
  t.equal(out.devShm, 0, 'its /dev/shm is private and stayed empty');
  t.equal(out.echoed?.bytes, BYTES);
  t.equal(out.echoed?.sha, out.sent, 'SHA-256 of the echo matches');
  t.equal(conns[0]?.transport, 'shm', 'the server side agrees');
});

const NS = `shmnet-${process.pid}`;
// Interface names are at most 15 characters; the addresses are a private /30 of our own.
const VETH_HOST = `shv${process.pid % 100000}h`;
const VETH_NS = `shv${process.pid % 100000}n`;
const NET = `10.213.${process.pid % 250}`;
const HOST_IP = `${NET}.1`;
const NS_IP = `${NET}.2`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function netnsCannot(): string | false {
  if (cannot) return cannot;
  if (!canRun('ip', ['netns', 'list'])) return 'no ip netns here';
  return false;
}

t.test('a client in another network namespace over TCP gets the socket, every byte intact', { skip: netnsCannot() }, async (t) => {
  t.teardown(() => {
    for (const cmd of [['link', 'del', VETH_HOST], ['netns', 'del', NS]]) {
      try {
        ip(...cmd);
      } catch {
        // not made (or gone with the namespace)
      }
    }
  });
  ip('netns', 'add', NS);
  ip('link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS);
  ip('link', 'set', VETH_NS, 'netns', NS);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', VETH_HOST);
  ip('link', 'set', VETH_HOST, 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', VETH_NS);
  ip('netns', 'exec', NS, 'ip', 'link', 'set', VETH_NS, 'up');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  const { server, conns, from } = await echoServer({ port: 0, host: HOST_IP });
  t.teardown(() => void server.close());
  const port = (server.address() as { port: number }).port;
  const cfg = JSON.stringify({ address: { host: HOST_IP, port }, bytes: BYTES });
  // Another container: its own network, hostname and /dev/shm.
  const r = await runFixtureWith(
    ['ip', 'netns', 'exec', NS, 'unshare', '--uts', '--mount', 'sh', '-c', 'hostname shmnet-netns && mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$@"', 'sh'],
    'container-client.ts',
    [cfg],
  );
  const out = report(r);
  t.equal(r.code, 0, r.stderr);
  t.equal(out.hostname, 'shmnet-netns');
  t.equal(out.transport, 'tcp', 'the socket: another host id over TCP');
  t.equal(out.echoed?.bytes, BYTES, 'every byte came back');
  t.equal(out.echoed?.sha, out.sent, 'SHA-256 of the echo matches');
  t.equal(conns[0]?.transport, 'tcp');
  t.equal(from[0], NS_IP, 'it came from the other namespace');
});
