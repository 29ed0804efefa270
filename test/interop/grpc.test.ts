/**
 * @grpc/grpc-js over shmnet, server side: the server (another process)
 * takes shmnet Conns through `server.createConnectionInjector(credentials)`
 * and `injector.injectConnection(conn)`.
 *
 * grpc-js's client has no transport hook (its subchannel always dials with
 * net.connect), so the client here is gRPC spoken directly over node:http2
 * with `createConnection` — the workaround the README gives. 32 MiB
 * echoed in one unary call with SHA-256 equality, and 1,000 small unary
 * calls with their answers checked.
 */
import t from 'tap';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { LARGE, SMALL_REQUESTS, largePayload, sha256, startServer } from '../fixtures/interop-util.js';

/** One unary gRPC call: a length-prefixed message out, one back, status in the trailers. */
function unary(session: http2.ClientHttp2Session, path: string, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    req.write(prefix);
    req.end(message);
    const parts: Buffer[] = [];
    let status: string | undefined;
    let detail: string | undefined;
    req.on('response', (h) => {
      // a failed call may send its status in the headers ("trailers-only")
      status = h['grpc-status'] as string | undefined;
      detail = h['grpc-message'] as string | undefined;
    });
    req.on('trailers', (h) => {
      status = h['grpc-status'] as string | undefined;
      detail = h['grpc-message'] as string | undefined;
    });
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (status !== '0') return reject(new Error(`grpc-status ${status}: ${detail}`));
      const body = Buffer.concat(parts);
      if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) return reject(new Error('bad gRPC response framing'));
      resolve(body.subarray(5));
    });
    req.on('error', reject);
  });
}

t.test('grpc-js server via createConnectionInjector', { timeout: 60_000 }, async (t) => {
  t.equal(typeof grpc.Server.prototype.createConnectionInjector, 'function', 'the installed grpc-js offers createConnectionInjector');
  const server = await startServer(t, 'grpc');
  const session = http2.connect('http://shmnet', { createConnection: () => server.dial() as never });
  session.on('error', (err) => t.fail(`session error: ${err.message}`));

  await t.test(`unary Echo of ${LARGE} bytes`, async (t) => {
    const { data, sha } = largePayload();
    const reply = await unary(session, '/interop.Echo/Echo', data);
    t.equal(reply.length, LARGE, 'every byte came back');
    t.equal(sha256(reply), sha, 'SHA-256 of the reply equals what was sent');
  });

  await t.test(`${SMALL_REQUESTS} small unary calls`, async (t) => {
    let bad = 0;
    for (let base = 0; base < SMALL_REQUESTS; base += 50) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, k) => unary(session, '/interop.Echo/Square', Buffer.from(JSON.stringify({ i: base + k })))),
      );
      replies.forEach((r, k) => {
        const json = JSON.parse(r.toString());
        if (json.i !== base + k || json.square !== (base + k) ** 2) bad++;
      });
    }
    t.equal(bad, 0, 'every answer matches its request');
  });

  await new Promise<void>((resolve) => session.close(resolve));
  await server.stop();
  t.same(server.transports, ['shm']);
});
