/**
 * Conformance, in child processes: whether a server and its connections
 * keep the process alive (ref/unref, paused, ended and closed ends), and
 * what a server sees when its peer process is killed.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ACCEPTED_EVENTS, closed, closeServer, conformance, counters, type Scenario, type Sock } from '../helpers/conformance.js';
import { CASES } from '../helpers/conformance-refs.js';
import { join } from 'node:path';
import { transpiledTree } from '../helpers/transpiled.js';

// Dozens of children: each runs the JavaScript copy, not through the TypeScript loader.
const JS = transpiledTree(['src', 'test/helpers', 'test/fixtures']);

/** Runs a fixture of the JavaScript copy; resolves with its stdout lines and exit code. */
function runChild(fixture: string, args: string[], onLine?: (line: string) => void): { done: Promise<string[]>; kill(): void } {
  const child = spawn(process.execPath, [join(JS, 'test/fixtures', fixture.replace(/\.ts$/, '.js')), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      lines.push(line);
      onLine?.(line);
    }
  });
  // A child that neither exits nor reports within this long is a failure, not a hang of the suite.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = once(child, 'exit').then(([code, signal]) => {
    clearTimeout(guard);
    lines.push(`exit ${code ?? signal}`);
    return lines;
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

const refScenarios: Scenario[] = Object.keys(CASES).map((name) => ({
  name: `event loop: ${name}`,
  covers: '2',
  parallel: true,
  async run(fl, rec) {
    for (const line of await runChild('conformance-refs.ts', [fl.name, name]).done) rec.log('child', line);
  },
}));

const scenarios: Scenario[] = [
  ...refScenarios,
  {
    name: 'the peer process is killed after writing',
    parallel: true,
    documented: {
      reason: 'over shared memory a killed peer is SHMNET_ERR_PEER_GONE',
      // No 'end', so no 'finish' either: the Conn is destroyed with the error.
      expectShm: (o) => {
        const { ['server.finish']: _finish, ...rest } = o;
        return { ...rest, server: ['data 2', 'error SHMNET_ERR_PEER_GONE', 'close true', 'bytes read 2 written 0'] };
      },
    },
    async run(fl, rec) {
      const server = fl.createServer({});
      server.on('connection', (c: Sock) => {
        rec.watch('server', c, ACCEPTED_EVENTS);
        counters(rec, 'server', c);
      });
      const target = await fl.listen(server);
      const where = 'path' in target ? target.path : String(target.port);
      const child = runChild('conformance-peer.ts', [fl.name, where]);
      const [conn] = (await once(server, 'connection')) as [Sock];
      if (conn.bytesRead === 0) await once(conn, 'data');
      child.kill();
      await child.done;
      await closed(conn);
      await closeServer(server);
    },
  },
];

conformance(t, scenarios);
