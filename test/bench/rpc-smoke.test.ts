/**
 * Smoke test of the request/response section: `shmnet-bench --only reqres
 * --quick` runs every case over every transport between real processes and
 * writes its samples to the JSON. No timing is asserted: only that every
 * number is there and positive, and that shmnet really ran on shared memory.
 *
 * Runs the compiled CLI (dist/bench/cli.js); skipped without a build.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/bench/cli.js', import.meta.url));
const CASES = ['http1-64', 'http1-64k', 'http2-64', 'message', 'grpc'];
const TRANSPORTS = ['shm', 'unix', 'tcp'];

t.test('bench --only reqres --quick completes with a sample per case and transport', { skip: existsSync(CLI) ? false : `${CLI} is missing: run \`npm run build\` first` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-rpc-smoke-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'rpc.json');
  const child = spawn(process.execPath, [CLI, '--only', 'reqres', '--quick', '--reps', '1', '--json', json], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.equal(code, 0, `exit code 0${code === 0 ? '' : `; stderr:\n${stderr}`}`);
  t.ok(stdout.includes('## Request/response'), 'prints the section');
  t.notOk(stdout.includes('### shmnet Conn'), 'and only that section');
  const out = JSON.parse(readFileSync(json, 'utf8'));
  for (const c of CASES) {
    for (const tr of TRANSPORTS) {
      const s = out.rpc.samples.find((x: { case: string; transport: string }) => x.case === c && x.transport === tr);
      t.ok(s, `${c} over ${tr} has a sample`);
      if (!s) continue;
      for (const k of ['calls', 'p50', 'p99', 'reqPerSec', 'cpuPerCall']) t.ok(Number.isFinite(s[k]) && s[k] > 0, `${c} ${tr} ${k} (${s[k]})`);
      t.ok(s.p99 >= s.p50, `${c} ${tr}: p99 ≥ p50`);
      if (tr === 'shm') t.ok(s.waits && Number.isFinite(s.waits.parks), `${c} shm: the client's waiting counters are kept`);
    }
  }
});
