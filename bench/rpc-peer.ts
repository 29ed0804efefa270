/**
 * The server side of the request/response bench (rpc.ts), in its own
 * process: every protocol's server, each reachable three ways:
 *
 *   - shmnet: a shmnet Server on a Unix-socket path whose Conns are handed
 *     to the protocol's server (`emit('connection')`, gRPC's connection
 *     injector, `new MessageConn(conn)`);
 *   - a Unix socket and a TCP port on 127.0.0.1, served by the same code.
 *
 * Routes: HTTP/1.1 and HTTP/2 `GET /N` answer N bytes; MessageConn echoes
 * every value; gRPC `/bench.Echo/Echo` returns the request bytes.
 *
 * argv[2]: JSON `{ spin?: number }`, the shmnet servers' options. Reports
 * `{ t: 'ready', addresses }` over IPC; `{ t: 'cpu' }` is answered with
 * this process's CPU time; exits when the IPC channel closes.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createServer, type Conn, type Server } from '../src/index.js';
import { MessageConn } from '../src/message/index.js';
import type { RpcAddresses, RpcProtocol, RpcPeerMessage } from './rpc-protocol.js';

const options = JSON.parse(process.argv[2] ?? '{}') as { spin?: number };
const dir = mkdtempSync(join(tmpdir(), 'shmnet-rpc-'));
const send = (m: RpcPeerMessage) => process.send?.(m);

const bodies = new Map<number, Buffer>();
function body(n: number): Buffer {
  let b = bodies.get(n);
  if (b === undefined) bodies.set(n, (b = Buffer.alloc(n, 0x61)));
  return b;
}
function sizeOf(path: string | undefined): number {
  const n = Number((path ?? '/').slice(1));
  return Number.isInteger(n) && n >= 0 && n <= 16 << 20 ? n : 0;
}

function onHttp1(req: http.IncomingMessage, res: http.ServerResponse): void {
  const b = body(sizeOf(req.url));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length });
  res.end(b);
}

function onHttp2(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const b = body(sizeOf(headers[':path']));
  stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': b.length });
  stream.end(b);
}

function onMessageStream(s: Socket | Conn): void {
  const mc = new MessageConn(s);
  mc.on('message', (v: unknown) => mc.send(v));
  mc.on('error', () => {});
}

function listen(srv: NetServer | Server | http.Server | http2.Http2Server, arg: string | number): Promise<string> {
  const server = srv as NetServer;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'string' ? a : String((a as { port: number }).port));
    };
    if (typeof arg === 'number') server.listen(arg, '127.0.0.1', done);
    else server.listen(arg, done);
  });
}

/** The shmnet server for one protocol: its Conns go to `feed`. */
async function shmFor(name: RpcProtocol, feed: (c: Conn) => void): Promise<string> {
  const s = createServer(options, feed);
  return listen(s, join(dir, `${name}.shm`));
}

async function main(): Promise<void> {
  const addresses = {} as RpcAddresses;

  const h1 = [http.createServer({ keepAliveTimeout: 60_000 }, onHttp1), http.createServer({ keepAliveTimeout: 60_000 }, onHttp1)];
  const h1shm = http.createServer({ keepAliveTimeout: 60_000 }, onHttp1);
  addresses.http1 = {
    shm: await shmFor('http1', (c) => h1shm.emit('connection', c)),
    unix: await listen(h1[0]!, join(dir, 'http1.sock')),
    tcp: await listen(h1[1]!, 0),
  };

  const h2 = [http2.createServer(), http2.createServer(), http2.createServer()];
  for (const s of h2) s.on('stream', onHttp2);
  addresses.http2 = {
    shm: await shmFor('http2', (c) => h2[2]!.emit('connection', c)),
    unix: await listen(h2[0]!, join(dir, 'http2.sock')),
    tcp: await listen(h2[1]!, 0),
  };

  addresses.message = {
    shm: await shmFor('message', onMessageStream),
    unix: await listen(createNetServer(onMessageStream), join(dir, 'message.sock')),
    tcp: await listen(createNetServer({ noDelay: true }, onMessageStream), 0),
  };

  const g = new grpc.Server();
  const bytes = (b: Buffer) => b;
  const echo = { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes };
  g.addService({ Echo: echo } as grpc.ServiceDefinition, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
  });
  const bind = (addr: string) =>
    new Promise<number>((resolve, reject) => g.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  const grpcUnix = join(dir, 'grpc.sock');
  await bind(`unix:${grpcUnix}`);
  const grpcPort = await bind('127.0.0.1:0');
  const injector = g.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  addresses.grpc = { shm: await shmFor('grpc', (c) => injector.injectConnection(c)), unix: grpcUnix, tcp: String(grpcPort) };

  const shutdown = () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('disconnect', shutdown);
  process.on('message', (m: { t: string; tag: number }) => {
    if (m.t === 'cpu') {
      const u = process.cpuUsage();
      send({ t: 'cpu', tag: m.tag, user: u.user, system: u.system });
    }
  });
  send({ t: 'ready', addresses, pid: process.pid });
}

main().catch((err: Error) => {
  send({ t: 'error', message: `rpc peer failed to start: ${err.stack ?? err.message}` });
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
