/**
 * A burst of clients at a Unix socket whose listen backlog is full: the
 * kernel refuses the overflow with EAGAIN at once (it retries a TCP SYN
 * instead). connect() tries again with back-off within its deadline, so
 * no client of the burst is lost; `backlog` is taken as node:net takes it.
 */
import t from 'tap';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Conn } from '../../src/index.js';

const CLIENTS = 300;

t.test(`${CLIENTS} clients at once at a Unix socket with backlog 2 all connect`, { skip: process.platform === 'win32' && 'Unix sockets' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-burst-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  let accepted = 0;
  const server = createServer({ ringSize: 4096 }, (c: Conn) => {
    accepted++;
    c.on('error', () => {});
    c.pipe(c);
  });
  server.listen({ path, backlog: 2 });
  await once(server, 'listening');
  t.teardown(() => void server.close());
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => {
      const c = connect({ path, handshakeTimeout: 120_000 });
      return new Promise<string>((resolve) => {
        c.once('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
        c.once('connect', () => {
          c.end(`client ${i}`);
          let got = '';
          c.on('data', (d: Buffer) => (got += d.toString()));
          c.on('end', () => resolve(got === `client ${i}` ? 'ok' : `bad echo ${got}`));
        });
      });
    }),
  );
  const failed = results.filter((r) => r !== 'ok');
  t.same(failed, [], `all ${CLIENTS} connected and echoed (${accepted} accepted)`);
});
