// HTTP over shmnet: node:http client and server in two processes, the
// bytes going through shared memory.
//
//   npm run build && node examples/http.mjs
//
// The parent forks itself as the server. The server hands each shmnet Conn
// to a plain http.Server with `emit('connection', conn)`; the client uses a
// keep-alive http.Agent whose `createConnection` dials shmnet.
import http from 'node:http';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect, createServer } from '../dist/src/index.js';

if (process.argv[2] === 'server') {
  const httpServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} (${body.length} bytes in) answered by pid ${process.pid} over ${req.socket.transport}\n`);
    });
  });
  const server = createServer((conn) => httpServer.emit('connection', conn));
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  // The parent disconnects when it is done: close up and exit.
  process.on('disconnect', () => {
    server.close();
    httpServer.closeAllConnections?.();
    for (const conn of connections) conn.destroy();
  });
  const connections = new Set();
  server.on('connection', (conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
  });
} else {
  const child = fork(fileURLToPath(import.meta.url), ['server']);
  const [{ port }] = await once(child, 'message');

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = () => connect({ port, host: '127.0.0.1' });

  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const req = http.request({ agent, host: 'shmnet', method, path }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      req.end(body);
    });

  process.stdout.write(await request('GET', '/hello'));
  process.stdout.write(await request('POST', '/upload', 'x'.repeat(100_000)));
  process.stdout.write(await request('GET', '/bye'));

  agent.destroy();
  child.disconnect();
  await once(child, 'exit');
}
