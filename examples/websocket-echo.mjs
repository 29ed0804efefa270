// A WebSocket echo over shmnet with the `ws` package, client and server in
// two processes.
//
//   npm run build && node examples/websocket-echo.mjs
//
// Server: an http.Server fed with shmnet Conns ('connection'), upgrading
// through a `WebSocketServer({ noServer: true })` and `handleUpgrade`.
// Client: `new WebSocket(url, { createConnection })` dialling shmnet.
import http from 'node:http';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { connect, createServer } from '../dist/src/index.js';

if (process.argv[2] === 'server') {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo: ${data}`, { binary: isBinary }));
    });
  });
  const server = createServer((conn) => httpServer.emit('connection', conn));
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => {
    for (const ws of wss.clients) ws.terminate();
    server.close();
  });
} else {
  const child = fork(fileURLToPath(import.meta.url), ['server']);
  const [{ port }] = await once(child, 'message');

  let conn;
  const ws = new WebSocket('ws://shmnet/echo', {
    createConnection: () => (conn = connect({ port, host: '127.0.0.1' })),
  });
  await once(ws, 'open');
  console.log(`open, transport ${conn.transport}`);

  for (const text of ['hello', 'shared memory', 'bye']) {
    ws.send(text);
    const [data] = await once(ws, 'message');
    console.log(String(data));
  }
  ws.send(Buffer.alloc(1024 * 1024, 1));
  const [blob] = await once(ws, 'message');
  console.log(`binary echo: ${blob.length} bytes`);

  ws.close(1000, 'done');
  const [code] = await once(ws, 'close');
  console.log(`closed with ${code}`);
  child.disconnect();
  await once(child, 'exit');
}
