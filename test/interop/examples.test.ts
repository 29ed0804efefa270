/**
 * Runs every example in examples/ as its own `node` process (against the
 * sources, through test/fixtures/interop-examples-hook.ts) and checks what
 * it prints: HTTP over shmnet, the WebSocket echo, RPC with MessageConn,
 * and the worker pipeline.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hook = fileURLToPath(new URL('../fixtures/interop-examples-hook.ts', import.meta.url));

const children = new Set<ChildProcess>();
// A hung example must not outlive the (timed-out) tests.
t.teardown(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Runs one example to its exit. */
async function run(example: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...process.execArgv, '--import', hook, `examples/${example}`], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}

// Started together (most of each run is compiling TypeScript), checked one by one;
// the timeouts allow for four compiles sharing a loaded 2-core machine.
const runs = {
  http: run('http.mjs'),
  ws: run('websocket-echo.mjs'),
  rpc: run('rpc.mjs'),
  pipeline: run('worker-pipeline.mjs'),
};

t.test('examples/http.mjs', { timeout: 200_000 }, async (t) => {
  const r = await runs.http;
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 3);
  t.match(lines[0], /^200 GET \/hello \(0 bytes in\) answered by pid \d+ over shm$/);
  t.match(lines[1], /^200 POST \/upload \(100000 bytes in\) answered by pid \d+ over shm$/);
  t.match(lines[2], /^200 GET \/bye /);
});

t.test('examples/websocket-echo.mjs', { timeout: 200_000 }, async (t) => {
  const r = await runs.ws;
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), [
    'open, transport shm',
    'echo: hello',
    'echo: shared memory',
    'echo: bye',
    'binary echo: 1048576 bytes',
    'closed with 1000',
  ]);
});

t.test('examples/rpc.mjs', { timeout: 200_000 }, async (t) => {
  const r = await runs.rpc;
  t.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  t.match(out, /^transport shm$/m);
  t.match(out, /^add\(2, 40\) = 42$/m);
  t.match(out, /^upper\('shared memory'\) = SHARED MEMORY$/m);
  t.match(out, /^sha256\(1 MiB of zeros\) = 30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58$/m);
  t.match(out, /^slow\(50\) = waited 50 ms$/m);
  t.match(out, /^nope\(\) failed: no method nope$/m);
  t.match(out, /^10000 calls: all correct in \d+ ms$/m);
});

t.test('examples/worker-pipeline.mjs', { timeout: 200_000 }, async (t) => {
  const r = await runs.pipeline;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^stats from the pipeline: 200000 lines, \d+ bytes, sha256 [0-9a-f]{16}…$/m);
  t.match(r.stdout, /^pipeline output verified$/m);
});
