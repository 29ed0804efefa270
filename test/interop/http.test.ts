/**
 * node:http over shmnet: the client's `createConnection` dials a shmnet
 * Conn, the server (another process) gets it through
 * `httpServer.emit('connection', conn)`. 32 MiB echoed with SHA-256
 * equality, and 1,000 small keep-alive requests with their answers checked.
 */
import t from 'tap';
import http from 'node:http';
import { LARGE, SMALL_REQUESTS, largePayload, sha256, startServer } from '../fixtures/interop-util.js';

interface Reply {
  status: number;
  body: Buffer;
}

function request(options: http.RequestOptions, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('http client and server over shmnet', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t, 'http');
  // keep-alive agent: every request of a run reuses the one shm connection
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => unknown }).createConnection = () => server.dial();
  t.teardown(() => agent.destroy());

  await t.test(`POST ${LARGE} bytes, echoed back`, async (t) => {
    const { data, sha } = largePayload();
    const reply = await request({ agent, host: 'shmnet', path: '/echo', method: 'POST' }, data);
    t.equal(reply.status, 200);
    t.equal(reply.body.length, LARGE, 'every byte came back');
    t.equal(sha256(reply.body), sha, 'SHA-256 of the echo equals what was sent');
  });

  await t.test(`${SMALL_REQUESTS} small requests on a keep-alive connection`, async (t) => {
    let bad = 0;
    for (let i = 0; i < SMALL_REQUESTS; i++) {
      const reply = await request({ agent, host: 'shmnet', path: `/small?i=${i}` });
      const json = JSON.parse(reply.body.toString());
      if (reply.status !== 200 || json.i !== i || json.square !== i * i) bad++;
    }
    t.equal(bad, 0, 'every answer matches its request');
  });

  await t.test('createConnection per request (no agent)', async (t) => {
    const replies = await Promise.all(
      [1, 2, 3].map((i) => request({ createConnection: () => server.dial() as never, path: `/small?i=${i}` } as http.RequestOptions)),
    );
    t.same(
      replies.map((r) => JSON.parse(r.body.toString()).square),
      [1, 4, 9],
    );
  });

  agent.destroy();
  const stats = await server.stop();
  t.ok(server.transports.length >= 4, 'the client dialled shmnet');
  t.ok(server.transports.every((x) => x === 'shm'), 'every connection ran over shared memory');
  t.equal(stats.fallbacks, 0, 'the server made no TCP fallbacks');
});
