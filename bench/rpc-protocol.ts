/** What the request/response bench (rpc.ts) and its server process (rpc-peer.ts) say over IPC. */

export type RpcProtocol = 'http1' | 'http2' | 'message' | 'grpc';
export type RpcTransport = 'shm' | 'unix' | 'tcp';

/** Per protocol and transport: a Unix-socket path, or a TCP port on 127.0.0.1 (tcp). */
export type RpcAddresses = Record<RpcProtocol, Record<RpcTransport, string>>;

export type RpcPeerMessage =
  | { t: 'ready'; addresses: RpcAddresses; pid: number }
  | { t: 'cpu'; tag: number; user: number; system: number }
  | { t: 'error'; message: string };
