/**
 * node:http2 over shmnet: `http2.connect(authority, { createConnection })`
 * on the client, an http2 server in another process fed with
 * `server.emit('connection', conn)`. 32 MiB echoed with SHA-256 equality,
 * and 1,000 small requests multiplexed on one session, answers checked.
 */
import t from 'tap';
import http2 from 'node:http2';
import { LARGE, SMALL_REQUESTS, largePayload, sha256, startServer } from '../fixtures/interop-util.js';

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    let status = 0;
    const parts: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ status, body: Buffer.concat(parts) }));
    req.on('error', reject);
    req.end(body);
  });
}

t.test('http2 client and server over shmnet', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t, 'http2');
  const session = http2.connect('http://shmnet', { createConnection: () => server.dial() as never });
  session.on('error', (err) => t.fail(`session error: ${err.message}`));

  await t.test(`POST ${LARGE} bytes, echoed back`, async (t) => {
    const { data, sha } = largePayload();
    const reply = await request(session, { ':method': 'POST', ':path': '/echo' }, data);
    t.equal(reply.status, 200);
    t.equal(reply.body.length, LARGE, 'every byte came back');
    t.equal(sha256(reply.body), sha, 'SHA-256 of the echo equals what was sent');
  });

  await t.test(`${SMALL_REQUESTS} small requests, 50 streams at a time`, async (t) => {
    let bad = 0;
    for (let base = 0; base < SMALL_REQUESTS; base += 50) {
      const batch = Array.from({ length: 50 }, (_, k) => base + k);
      const replies = await Promise.all(batch.map((i) => request(session, { ':path': `/small?i=${i}` })));
      replies.forEach((r, k) => {
        const json = JSON.parse(r.body.toString());
        if (r.status !== 200 || json.i !== batch[k] || json.square !== batch[k]! * batch[k]!) bad++;
      });
    }
    t.equal(bad, 0, 'every answer matches its request');
  });

  await new Promise<void>((resolve) => session.close(resolve));
  const stats = await server.stop();
  t.same(server.transports, ['shm'], 'one session, one shm connection');
  t.equal(stats.fallbacks, 0);
});
