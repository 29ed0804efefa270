/**
 * A minimal test harness for running under Wine, where node-tap's worker
 * processes and its reporter (which writes to a pipe) cannot run: tests
 * run one after another, each with a deadline, and each prints one
 * `ok N - name` or `not ok N - name` line. The process exits non-zero
 * when any failed. scripts/test-windows.mjs reads these lines.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const tests = [];

/** Registers a test; `fn` may be async. */
export function test(name, fn, { timeout = 240_000 } = {}) {
  tests.push({ name, fn, timeout });
}

const here = dirname(fileURLToPath(import.meta.url));

/** Starts test/windows/peer.mjs in a new node process (the same node.exe), stdout and stderr to ours. */
export function startPeer(cfg, env = {}) {
  const child = spawn(process.execPath, [join(here, 'peer.mjs'), JSON.stringify(cfg)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...env },
  });
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

/** What a connection's stats().segment says where descriptors cannot be passed (Windows) and where they can. */
export const SEGMENT = process.platform === 'linux' ? 'memfd' : 'named';

/** A pipe name no other test uses. */
let pipes = 0;
export function pipeName(label) {
  return process.platform === 'win32'
    ? `\\\\.\\pipe\\shmnet-test-${process.pid}-${label}-${++pipes}`
    : join(process.env.TMPDIR ?? '/tmp', `shmnet-test-${process.pid}-${label}-${++pipes}.sock`);
}

/** Resolves with the first value of `promise`, or rejects after `ms` with `what` in the message. */
export function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The first 'error' of an emitter (resolves, never rejects). */
export function nextError(emitter) {
  return new Promise((resolve) => emitter.once('error', resolve));
}

async function runAll() {
  let failed = 0;
  let n = 0;
  for (const t of tests) {
    n++;
    const started = performance.now();
    try {
      await within(t.timeout, `test "${t.name}"`, Promise.resolve().then(t.fn));
      console.log(`ok ${n} - ${t.name} (${(performance.now() - started).toFixed(0)} ms)`);
    } catch (err) {
      failed++;
      console.log(`not ok ${n} - ${t.name}`);
      console.log(`  # ${String(err?.stack ?? err).split('\n').join('\n  # ')}`);
    }
  }
  console.log(`# ${n - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

setImmediate(runAll);
