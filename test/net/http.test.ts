/** node:http over shmnet: the client passes createConnection, the server is fed 'connection'. */
import t from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { createServer, connect, type Conn } from '../../src/index.js';
import { randomChunk } from '../helpers/stream.js';

t.test('an HTTP request and response with a 64 MiB body each way', async (t) => {
  const httpServer = http.createServer((req, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    req.on('end', () => {
      const body = Buffer.alloc(64 * 1024 * 1024);
      for (let off = 0; off < body.length; off += 1 << 20) randomChunk(1 << 20).copy(body, off);
      res.setHeader('x-request-sha', h.digest('hex'));
      res.setHeader('x-request-bytes', String(n));
      res.setHeader('x-response-sha', createHash('sha256').update(body).digest('hex'));
      res.end(body);
    });
  });
  const transports: string[] = [];
  const server = createServer((conn: Conn) => {
    transports.push(conn.transport!);
    httpServer.emit('connection', conn);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as any;

  const upload = Buffer.alloc(64 * 1024 * 1024);
  for (let off = 0; off < upload.length; off += 1 << 20) randomChunk(1 << 20).copy(upload, off);
  const uploadSha = createHash('sha256').update(upload).digest('hex');

  const req = http.request({
    method: 'POST',
    host: 'shmnet.local',
    path: '/echo',
    createConnection: () => connect({ port, host: '127.0.0.1' }) as any,
    headers: { 'content-length': upload.length },
  });
  req.end(upload);
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  t.equal(res.statusCode, 200);
  const h = createHash('sha256');
  let n = 0;
  for await (const d of res) {
    h.update(d as Buffer);
    n += (d as Buffer).length;
  }
  t.equal(res.headers['x-request-bytes'], String(upload.length), 'the server received the whole body');
  t.equal(res.headers['x-request-sha'], uploadSha, 'request body intact');
  t.equal(n, 64 * 1024 * 1024);
  t.equal(h.digest('hex'), res.headers['x-response-sha'], 'response body intact');
  t.same(transports, ['shm'], 'the HTTP connection ran over shared memory');
  server.close();
  httpServer.close();
});
