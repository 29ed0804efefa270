/**
 * The ref/unref cases, run inside a child (test/fixtures/conformance-refs.ts)
 * because what is checked is whether the process stays alive. Each brings
 * a server and a client of one flavour to a state and returns; the child
 * then reports whether the event loop emptied.
 */
import { once } from 'node:events';
import { closed, flavour, type Flavour, type FlavourName, type Sock, type Srv } from './conformance.js';

type Log = (line: string) => void;

async function setUp(fl: Flavour, serverOptions: object = {}, clientOptions: object = {}): Promise<{ server: Srv; client: Sock; conn: Sock }> {
  const server = fl.createServer(serverOptions);
  const target = await fl.listen(server);
  const got = once(server, 'connection');
  const client = fl.connect(target, clientOptions);
  const [conn] = (await got) as [Sock];
  if (client.connecting) await once(client, 'connect');
  return { server, client, conn };
}

export const CASES: Record<string, (fl: Flavour, log: Log) => Promise<void>> = {
  /** Nothing unref'd: the server and both ends keep the process alive. */
  async 'open, all refd'(fl) {
    await setUp(fl);
  },
  /** Everything unref'd: nothing keeps it alive. */
  async 'open, all unrefd'(fl) {
    const { server, client, conn } = await setUp(fl);
    server.unref();
    client.unref();
    conn.unref();
  },
  /** The server unref'd, the client unref'd, the accepted end ref'd and reading. */
  async 'only the accepted end refd'(fl) {
    const { server, client, conn } = await setUp(fl);
    server.unref();
    client.unref();
    conn.resume();
  },
  /** Both ends paused (nobody reads), the server unref'd: a paused handle does not keep the loop alive. */
  async 'both ends paused'(fl) {
    const { server, client, conn } = await setUp(fl);
    server.unref();
    client.pause();
    conn.pause();
  },
  /** The client ended and unref'd; the accepted end (allowHalfOpen) saw 'end' without ever being read. */
  async 'the accepted end ended, never read'(fl, log) {
    const { server, client, conn } = await setUp(fl, { allowHalfOpen: true });
    server.unref();
    client.unref();
    client.end();
    await once(conn, 'end');
    log(`conn end, writable ${conn.writable}`);
  },
  /** The client closed; its peer stays half-open and paused: the closed end holds nothing. */
  async 'a closed end, its peer half-open'(fl, log) {
    const { server, client, conn } = await setUp(fl, { allowHalfOpen: true });
    server.unref();
    conn.pause();
    conn.unref();
    client.destroy();
    await closed(client);
    log(`client closed`);
  },
  /** A client whose server has gone (closed everything): all released. */
  async 'both ends closed, server closed'(fl, log) {
    const { server, client, conn } = await setUp(fl);
    client.end();
    await Promise.all([closed(client), closed(conn)]);
    await new Promise<void>((r) => server.close(() => r()));
    log('closed');
  },
};

export async function runCase(name: string, caseName: string, log: Log): Promise<void> {
  const fn = CASES[caseName];
  if (fn === undefined) throw new Error(`no case ${caseName}`);
  await fn(flavour(name as FlavourName), log);
}
