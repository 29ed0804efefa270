#!/usr/bin/env node
// The package's install step: keep a native addon that was built for this
// Node, or build one from source with node-gyp. Nothing is downloaded.
//
// The addon uses V8's C++ API, so a binary is tied to the Node ABI it was
// built for (it exports `nodeAbi`): a binary left by another Node version is
// rebuilt, not kept. When the build fails, the last line printed says what
// the machine lacks (a C++20 compiler, Python 3, make), not only node-gyp's
// log.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/**
 * True if an addon built for this Node's ABI loads from build/ or prebuilds/.
 * Asked in a child process: a binary loaded here would stay cached by
 * `require` and hide the one node-gyp writes over it.
 */
function haveAddon() {
  // nodeAbi 0: a Node-API-only build (Windows), not tied to one Node ABI.
  const probe = `const b = require('node-gyp-build')(${JSON.stringify(root)}); process.exit(b.nodeAbi === 0 || b.nodeAbi === Number(process.versions.modules) ? 0 : 1);`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });
  return r.status === 0;
}

/** How to run node-gyp: a local copy, the one npm passes to install scripts, or PATH's. */
function nodeGyp() {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {}
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  return [process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp'];
}

function onPath(cmd) {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const ext of exts) if (dir && existsSync(join(dir, cmd + ext))) return true;
  }
  return false;
}

/** What the build needs and this machine lacks, in words. */
function missingTools() {
  if (process.platform === 'win32') return ['Visual Studio C++ build tools with C++20 (or the "Desktop development with C++" workload)'];
  const missing = [];
  const python = process.env.npm_config_python || process.env.PYTHON;
  if (!(python ? existsSync(python) || onPath(python) : onPath('python3') || onPath('python'))) missing.push('Python 3');
  if (!onPath('make')) missing.push('make');
  const cxx = process.env.CXX || ['c++', 'g++', 'clang++'].find(onPath);
  if (!cxx) {
    missing.push('a C++ compiler with C++20 support (g++ 10+ or clang 10+)');
  } else {
    const probe = spawnSync(cxx, ['-std=c++20', '-x', 'c++', '-fsyntax-only', '-'], { input: 'int main() { return 0; }\n', stdio: ['pipe', 'ignore', 'ignore'] });
    if (probe.status !== 0) missing.push(`C++20 support in ${cxx} (g++ 10+ or clang 10+)`);
  }
  return missing;
}

if (haveAddon()) process.exit(0);

const [cmd, ...args] = nodeGyp();
const child = spawn(cmd, [...args, 'rebuild'], { cwd: root, stdio: 'inherit', windowsHide: true });
child.on('error', (err) => finish(1, `cannot run node-gyp (${err.message})`));
child.on('exit', (code, signal) => finish(code ?? 1, signal ? `node-gyp was killed by ${signal}` : undefined));

function finish(code, why) {
  if (code === 0 && haveAddon()) process.exit(0);
  const missing = missingTools();
  const what = missing.length > 0 ? `this machine lacks ${missing.join(', ')}` : why ?? 'see the node-gyp output above';
  console.error(`shmnet: building the native addon for Node ${process.version} failed: ${what}. It needs a C++20 compiler, Python 3 and make (on Windows: Visual Studio's C++ build tools).`);
  process.exit(code === 0 ? 1 : code);
}
