/**
 * Conn across two node.exe processes over a named pipe: a 64 MiB echo
 * checked with SHA-256 on shared memory, the same over the socket
 * (transport: 'tcp', and a host-id mismatch under 'auto'), and a peer
 * killed mid-transfer in either role (SHMNET_ERR_PEER_GONE).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codes, connect, createServer } from '../../dist/src/index.js';
import { nextError, pipeName, SEGMENT, startPeer, test, within } from './harness.mjs';

const dir = mkdtempSync(join(tmpdir(), 'shmnet-win-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const MiB = 1024 * 1024;

/** An echo server that hashes what it receives; the peer process is the client. */
async function echoThroughPeer(label, bytes, serverOpts = {}, peerOpts = {}, peerEnv = {}) {
  const path = pipeName(label);
  let serverHash = null;
  let serverTransport = null;
  const done = new Promise((resolve, reject) => {
    const server = createServer(serverOpts, (conn) => {
      serverTransport = conn.transport;
      const h = createHash('sha256');
      conn.on('data', (d) => h.update(d));
      conn.on('error', reject);
      conn.on('end', () => {
        serverHash = h.digest('hex');
      });
      conn.pipe(conn);
      conn.on('close', () => {
        server.close();
        resolve();
      });
    });
    server.listen(path);
  });
  const result = join(dir, `${label}.json`);
  const started = performance.now();
  const peer = startPeer({ mode: 'echo-client', pipe: path, bytes, result, ...peerOpts }, peerEnv);
  const [{ code }] = await within(600_000, `the ${label} echo`, Promise.all([peer.exited, done]));
  const seconds = (performance.now() - started) / 1000;
  assert.equal(code, 0, 'the client process finished');
  const r = JSON.parse(readFileSync(result, 'utf8'));
  return { ...r, serverHash, serverTransport, seconds };
}

test('64 MiB echo between two node.exe processes over a named pipe on shared memory: SHA-256 equal', async () => {
  const r = await echoThroughPeer('echo-shm', 64 * MiB, { transport: 'shm' }, { transport: 'shm' });
  assert.equal(r.transport, 'shm');
  assert.equal(r.serverTransport, 'shm');
  assert.equal(r.segment, SEGMENT);
  assert.equal(r.bytesReceived, 64 * MiB);
  assert.equal(r.serverHash, r.sent, 'the server received what the client sent');
  assert.equal(r.received, r.sent, 'the client received its bytes back');
  console.log(`# 64 MiB each way, transport ${r.transport}: sha256 ${r.sent.slice(0, 16)}… on both sides, ${r.seconds.toFixed(1)} s (${((128 / r.seconds)).toFixed(0)} MiB/s both directions)`);
});

test("transport: 'tcp' runs the same echo over the named pipe itself", async () => {
  const r = await echoThroughPeer('echo-tcp', 8 * MiB, {}, { transport: 'tcp' });
  assert.equal(r.transport, 'tcp');
  assert.equal(r.serverTransport, 'tcp');
  assert.equal(r.serverHash, r.sent);
  assert.equal(r.received, r.sent);
});

test("different host ids under 'auto' fall back to the socket", async () => {
  const r = await echoThroughPeer('echo-fallback', 4 * MiB, {}, {}, { SHMNET_HOST_ID: 'another-host' });
  assert.equal(r.transport, 'tcp');
  assert.equal(r.serverTransport, 'tcp');
  assert.equal(r.received, r.sent);
  assert.equal(r.serverHash, r.sent);
});

test('the client process is killed while sending: the server gets SHMNET_ERR_PEER_GONE', async () => {
  const path = pipeName('kill-client');
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const peer = startPeer({ mode: 'source', pipe: path });
  const [conn] = await within(60_000, "the server's 'connection'", once(server, 'connection'));
  assert.equal(conn.transport, 'shm');
  const errP = nextError(conn);
  const closeP = new Promise((r) => conn.once('close', r));
  let got = 0;
  await within(120_000, '4 MiB from the peer', new Promise((resolve) => {
    conn.on('data', (d) => {
      got += d.length;
      if (got >= 4 * MiB) resolve();
    });
  }));
  peer.kill();
  const err = await within(60_000, "the server's 'error'", errP);
  await within(60_000, "the server's 'close'", closeP);
  assert.equal(err.code, codes.PEER_GONE);
  await peer.exited;
  server.close();
});

test('the server process is killed while the client sends: the client gets SHMNET_ERR_PEER_GONE', async () => {
  const path = pipeName('kill-server');
  const notify = pipeName('notify');
  const ready = new Promise((resolve) => {
    const n = createNetServer((s) => {
      s.on('data', () => {});
      s.on('end', () => {
        n.close();
        resolve();
      });
    });
    n.listen(notify);
  });
  const peer = startPeer({ mode: 'serve-echo', pipe: path, notify });
  await within(60_000, 'the peer to listen', ready);
  const conn = connect(path);
  await within(60_000, "the client's 'connect'", once(conn, 'connect'));
  assert.equal(conn.transport, 'shm');
  const errP = nextError(conn);
  conn.resume();
  const chunk = Buffer.alloc(64 * 1024, 1);
  const pump = () => {
    while (conn.writable && conn.write(chunk));
    if (conn.writable) conn.once('drain', pump);
  };
  pump();
  await within(60_000, 'bytes to flow', new Promise((resolve) => {
    const check = () => (conn.bytesRead > 1 * MiB ? resolve() : setTimeout(check, 5));
    check();
  }));
  peer.kill();
  const err = await within(60_000, "the client's 'error'", errP);
  assert.equal(err.code, codes.PEER_GONE);
  await peer.exited;
});
