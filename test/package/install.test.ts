/**
 * The install step (scripts/install.mjs) on a machine without a toolchain:
 * node-gyp's log is followed by one line that says what is missing.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

t.test('a failed build names what the machine lacks', { skip: process.platform === 'win32' ? 'POSIX toolchain names' : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The package's sources as a consumer gets them, but no build yet.
  for (const f of ['package.json', 'binding.gyp', 'native', 'scripts/install.mjs']) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(repo, f), join(dir, f), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // A PATH with node alone: no python, no make, no compiler.
  const bin = mkdtempSync(join(tmpdir(), 'shmnet-bin-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  symlinkSync(process.execPath, join(bin, 'node'));
  const env: NodeJS.ProcessEnv = { PATH: bin, HOME: dir };
  const child = spawn(process.execPath, [join(dir, 'scripts', 'install.mjs')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout.resume();
  child.stderr.on('data', (d) => (err += d));
  const [code] = await once(child, 'exit');
  t.not(code, 0, 'the install step fails');
  const last = err.trim().split('\n').pop() ?? '';
  t.match(last, /^shmnet: building the native addon for Node v\d+\.\d+\.\d+ failed: this machine lacks Python 3, make, a C\+\+ compiler/, last);
});
