/**
 * undici over shmnet: `new Client(origin, { connect })` and
 * `new Agent({ connect })` with a connector that dials a shmnet Conn and
 * hands it over on 'connect'; an http server in another process.
 * For each: 32 MiB echoed with SHA-256 equality and 1,000 small requests
 * with their answers checked.
 */
import t, { type Test } from 'tap';
import { Agent, Client, request, type Dispatcher } from 'undici';
import { LARGE, SMALL_REQUESTS, largePayload, sha256, startServer, type InteropServer } from '../fixtures/interop-util.js';

/** undici's `connect` option: dial shmnet instead of TCP. */
function shmConnector(server: InteropServer) {
  return (_opts: unknown, cb: (err: Error | null, socket: unknown) => void) => {
    const conn = server.dial();
    const onError = (err: Error) => cb(err, null);
    conn.once('error', onError);
    conn.once('connect', () => {
      conn.off('error', onError);
      cb(null, conn);
    });
  };
}

async function exercise(t: Test, dispatcher: Dispatcher): Promise<void> {
  await t.test(`POST ${LARGE} bytes, echoed back`, async (t) => {
    const { data, sha } = largePayload();
    const res = await request('http://shmnet/echo', { dispatcher, method: 'POST', body: data });
    t.equal(res.statusCode, 200);
    const body = Buffer.from(await res.body.arrayBuffer());
    t.equal(body.length, LARGE, 'every byte came back');
    t.equal(sha256(body), sha, 'SHA-256 of the echo equals what was sent');
  });

  await t.test(`${SMALL_REQUESTS} small requests`, async (t) => {
    let bad = 0;
    for (let base = 0; base < SMALL_REQUESTS; base += 10) {
      const replies = await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const i = base + k;
          const res = await request(`http://shmnet/small?i=${i}`, { dispatcher });
          const json = (await res.body.json()) as { i: number; square: number };
          return res.statusCode === 200 && json.i === i && json.square === i * i;
        }),
      );
      bad += replies.filter((ok) => !ok).length;
    }
    t.equal(bad, 0, 'every answer matches its request');
  });
}

t.test('undici Client over shmnet', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t, 'http');
  const client = new Client('http://shmnet', { connect: shmConnector(server) as never, pipelining: 4 });
  await exercise(t, client);
  await client.close();
  const stats = await server.stop();
  t.same(server.transports, ['shm'], 'one Client, one shm connection');
  t.equal(stats.fallbacks, 0);
});

t.test('undici Agent over shmnet', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t, 'http');
  const agent = new Agent({ connect: shmConnector(server) as never, connections: 4 });
  await exercise(t, agent);
  await agent.close();
  await server.stop();
  t.ok(server.transports.length >= 1 && server.transports.length <= 4, `the agent pooled ${server.transports.length} connection(s)`);
  t.ok(server.transports.every((x) => x === 'shm'), 'all over shared memory');
});
