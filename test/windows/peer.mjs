/**
 * The other process of the Windows tests. argv[2] is JSON { mode, ... }:
 *  - 'echo-client': connect to `pipe`, send `bytes` random bytes and end,
 *    hash what was sent and what came back; write { transport, segment,
 *    sent, received, bytesSent, bytesReceived } as JSON to `result`.
 *  - 'source': connect to `pipe` and write forever (the parent kills it).
 *  - 'serve-echo': listen on `pipe`, echo every connection, then tell the
 *    parent by connecting to `notify` (a plain net server) and writing a line.
 *  - 'map-pingpong': open the named mapping `name` and play `rounds` of
 *    ping-pong on its first Int32 slots (see mapping.test.mjs).
 * Exits 0 when its part went as planned.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect, createServer, openShm } from '../../dist/src/index.js';

const cfg = JSON.parse(process.argv[2]);

function fail(err) {
  console.log(`# peer ${cfg.mode}: ${err?.stack ?? err}`);
  process.exit(1);
}

if (cfg.mode === 'echo-client') {
  const conn = connect({ path: cfg.pipe, transport: cfg.transport ?? 'auto' });
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let bytesReceived = 0;
  conn.on('error', fail);
  conn.on('data', (d) => {
    received.update(d);
    bytesReceived += d.length;
  });
  conn.on('end', () => {
    writeFileSync(
      cfg.result,
      JSON.stringify({
        transport: conn.transport,
        segment: conn.stats().segment,
        sent: sent.digest('hex'),
        received: received.digest('hex'),
        bytesSent: cfg.bytes,
        bytesReceived,
      }),
    );
    conn.destroy();
  });
  conn.once('connect', () => {
    let left = cfg.bytes;
    const pump = () => {
      while (left > 0) {
        const chunk = randomBytes(Math.min(left, 1 + Math.floor(Math.random() * 256 * 1024)));
        left -= chunk.length;
        sent.update(chunk);
        if (!conn.write(chunk)) return void conn.once('drain', pump);
      }
      conn.end();
    };
    pump();
  });
} else if (cfg.mode === 'source') {
  const conn = connect({ path: cfg.pipe });
  conn.on('error', fail);
  const chunk = randomBytes(64 * 1024);
  const pump = () => {
    while (conn.write(chunk));
    conn.once('drain', pump);
  };
  conn.once('connect', pump);
} else if (cfg.mode === 'serve-echo') {
  const server = createServer((conn) => {
    conn.on('error', () => {});
    conn.pipe(conn);
  });
  server.on('error', fail);
  server.listen(cfg.pipe, () => {
    const s = netConnect(cfg.notify, () => s.end('listening\n'));
    s.on('error', fail);
  });
} else if (cfg.mode === 'map-pingpong') {
  // Slot 0: the parent's turn counter, slot 1: ours. We answer each of the
  // parent's values v with v, so each side sees the other's stores.
  const region = openShm(cfg.name);
  const slots = new Int32Array(region.buffer, 0, 2);
  const deadline = Date.now() + cfg.timeoutMs;
  for (let round = 1; round <= cfg.rounds; round++) {
    // SYNC POINT with the parent's Atomics.store(slots, 0, round): the parent's turn.
    while (Atomics.load(slots, 0) !== round) {
      if (Date.now() > deadline) fail(new Error(`round ${round}: the parent's store never became visible`));
    }
    // SYNC POINT with the parent's Atomics.load(slots, 1): our answer.
    Atomics.store(slots, 1, round);
  }
  process.exit(0);
} else {
  fail(new Error(`unknown mode ${cfg.mode}`));
}
