/**
 * gRPC unary calls, what an RPC user runs today for local calls, against
 * the same gRPC server fed with shmnet Conns.
 *
 *   - peer side: one @grpc/grpc-js server with an Echo method (bytes in,
 *     the same bytes out), bound to a Unix socket (`unix:/path`) and fed
 *     shmnet Conns through `createConnectionInjector`;
 *   - bench side, three clients, one call in flight:
 *       'grpc-unix'  the grpc-js client over the Unix socket;
 *       'h2-unix'    gRPC spoken over node:http2 on a Unix socket;
 *       'h2-shm'     the same node:http2 client over a shmnet Conn
 *                    (`createConnection`), since the grpc-js client has no
 *                    transport hook (README, Ecosystem).
 *     'h2-unix' against 'h2-shm' isolates the transport; 'grpc-unix' is
 *     what a user has without shmnet.
 */
import http2 from 'node:http2';
import { connect as netConnect } from 'node:net';
import type * as Grpc from '@grpc/grpc-js';
import { connect, createServer, type Conn } from '../src/index.js';
import type { Exchanger } from './latency.js';
import { requirePeer } from './optional.js';
import type { Peer } from './peer-client.js';

type GrpcModule = typeof Grpc;
const ECHO = '/shmnet.bench.Echo/Echo';
const MAX_MESSAGE = 16 << 20;

export type GrpcClientKind = 'grpc-unix' | 'h2-unix' | 'h2-shm';
export const GRPC_SIZES = [64, 64 << 10];

export interface GrpcAddresses {
  unixPath: string;
  /** shmnet server whose Conns go to the gRPC server. */
  shmPort: number;
}

// ---- peer side ----------------------------------------------------------------

export async function startGrpcPeer(dir: string): Promise<{ addresses: GrpcAddresses; close(): void }> {
  const grpc = await requirePeer<GrpcModule>('grpc');
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE });
  const bytes = (b: Buffer) => b;
  const echo = { path: ECHO, requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes };
  server.addService({ Echo: echo } as Grpc.ServiceDefinition, {
    Echo: (call: Grpc.ServerUnaryCall<Buffer, Buffer>, cb: Grpc.sendUnaryData<Buffer>) => cb(null, call.request),
  });
  const unixPath = `${dir}/grpc.sock`;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${unixPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const shm = createServer((c: Conn) => injector.injectConnection(c));
  await new Promise<void>((resolve, reject) => {
    shm.once('error', reject);
    shm.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    addresses: { unixPath, shmPort: (shm.address() as { port: number }).port },
    close() {
      shm.close();
      injector.destroy();
      server.forceShutdown();
    },
  };
}

// ---- bench side ---------------------------------------------------------------

function addressesOf(peer: Peer): GrpcAddresses {
  const a = peer.addresses.grpc;
  if (a === undefined) throw new Error('the bench peer has no gRPC server');
  return a;
}

function checkEcho(reply: Buffer, size: number): Error | undefined {
  return reply.length === size ? undefined : new Error(`gRPC echo of ${reply.length} bytes, expected ${size}`);
}

/** The grpc-js client over the peer's Unix socket. */
async function grpcJsExchanger(peer: Peer, size: number): Promise<Exchanger> {
  const grpc = await requirePeer<GrpcModule>('grpc');
  const client = new grpc.Client(`unix:${addressesOf(peer).unixPath}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE,
    'grpc.max_send_message_length': MAX_MESSAGE,
  });
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  const msg = Buffer.alloc(size, 0x33);
  const bytes = (b: Buffer) => b;
  return {
    exchange(done) {
      client.makeUnaryRequest(ECHO, bytes, bytes, msg, (err, reply) => done(err ?? checkEcho(reply!, size)));
    },
    async close() {
      client.close();
    },
  };
}

/** gRPC unary calls spoken over a node:http2 session on `createConnection()`'s stream. */
async function http2Exchanger(createConnection: () => import('node:stream').Duplex, size: number): Promise<Exchanger> {
  const session = http2.connect('http://shmnet-bench', { createConnection: createConnection as never });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const framed = Buffer.alloc(5 + size, 0x33);
  framed[0] = 0; // not compressed
  framed.writeUInt32BE(size, 1);
  const headers = { ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' };
  return {
    exchange(done) {
      const req = session.request(headers);
      const parts: Buffer[] = [];
      let status: string | undefined;
      req.on('response', (h) => (status = h['grpc-status'] as string | undefined));
      req.on('trailers', (h) => (status = h['grpc-status'] as string | undefined));
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        if (status !== '0') return done(new Error(`grpc-status ${status}`));
        const body = Buffer.concat(parts);
        if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) return done(new Error('bad gRPC response framing'));
        done(checkEcho(body.subarray(5), size));
      });
      req.on('error', done);
      req.end(framed);
    },
    close() {
      return new Promise<void>((resolve) => session.close(() => resolve()));
    },
  };
}

export async function grpcExchanger(peer: Peer, kind: GrpcClientKind, size: number): Promise<Exchanger> {
  await requirePeer<GrpcModule>('grpc');
  const a = addressesOf(peer);
  switch (kind) {
    case 'grpc-unix':
      return grpcJsExchanger(peer, size);
    case 'h2-unix':
      return http2Exchanger(() => netConnect(a.unixPath), size);
    case 'h2-shm':
      return http2Exchanger(() => {
        const c = connect({ port: a.shmPort, host: '127.0.0.1' });
        c.once('connect', () => {
          if (c.transport !== 'shm') c.destroy(new Error(`shmnet fell back to '${c.transport}'`));
        });
        return c;
      }, size);
  }
}
