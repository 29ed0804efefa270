/**
 * Running a fixture as another user (`nobody`) from any checkout.
 *
 * The checkout may sit in a directory only its owner can enter (mktemp -d
 * makes 0700), so another user can load neither tap's TypeScript loader
 * nor the sources. `stageForOtherUser()` builds what the child runs into a
 * world-readable temporary directory: `src/` and the named fixtures
 * transpiled to JavaScript (from the current sources, not a stale dist/),
 * the built addon, and the runtime dependencies. The child then runs with
 * plain `node`, no loader.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { outcome } from './peer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** uid/gid of `nobody`, or why another user cannot be used here (a skip reason). */
export function otherUser(): { uid: number; gid: number } | string {
  if (process.platform === 'win32') return 'no uids on Windows';
  if (process.geteuid?.() !== 0) return 'spawning a process as another user needs root';
  try {
    return {
      uid: Number(execFileSync('id', ['-u', 'nobody']).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'nobody']).toString().trim()),
    };
  } catch {
    return 'there is no user nobody';
  }
}

export interface Staged {
  dir: string;
  /** Runs `test/fixtures/<name>` (staged) as uid/gid; resolves with its exit code and output. */
  run(name: string, args: string[], who: { uid: number; gid: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  remove(): void;
}

function transpile(from: string, to: string): void {
  const out = ts.transpileModule(readFileSync(from, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
    fileName: from,
  });
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, out.outputText);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/**
 * True when any user can run `file`: every directory above it can be
 * entered by others, and the file itself can be executed by others. A Node
 * fetched into root's cache (~/.cache, mode 0700) fails this.
 */
function runnableByOthers(file: string): boolean {
  const OTHERS_X = 0o001;
  if ((statSync(file).mode & OTHERS_X) === 0) return false;
  for (let d = dirname(file); ; d = dirname(d)) {
    if ((statSync(d).mode & OTHERS_X) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/** Stages src/, the fixtures named (which may import only src/) and the addon in a fresh 0755 directory. */
export function stageForOtherUser(fixtures: string[]): Staged {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-staged-'));
  try {
    chmodSync(dir, 0o755);
    for (const f of tsFiles(join(ROOT, 'src'))) transpile(f, join(dir, relative(ROOT, f).replace(/\.ts$/, '.js')));
    for (const name of fixtures) transpile(join(ROOT, 'test/fixtures', name), join(dir, 'test/fixtures', name.replace(/\.ts$/, '.js')));
    // src/native.ts finds the package root by its binding.gyp, then node-gyp-build the addon under it.
    cpSync(join(ROOT, 'binding.gyp'), join(dir, 'binding.gyp'));
    const addon = join(ROOT, 'build/Release/shmnet.node');
    if (!existsSync(addon)) throw new Error('the addon is not built (npm run build:native)');
    mkdirSync(join(dir, 'build/Release'), { recursive: true });
    cpSync(addon, join(dir, 'build/Release/shmnet.node'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies)) {
      const from = join(ROOT, 'node_modules', dep);
      if (existsSync(from)) cpSync(from, join(dir, 'node_modules', dep), { recursive: true, dereference: true });
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shmnet-staged', type: 'module', private: true }));
    // The Node running this test, copied when another user could not start it where it is.
    if (!runnableByOthers(process.execPath)) {
      mkdirSync(join(dir, 'bin'));
      cpSync(process.execPath, join(dir, 'bin/node'));
    }
    // Every directory and file readable by all: the mode mkdir/copy gave them follows the umask.
    execFileSync('chmod', ['-R', 'a+rX', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    async run(name, args, who) {
      const node = existsSync(join(dir, 'bin/node')) ? join(dir, 'bin/node') : process.execPath;
      const script = join(dir, 'test/fixtures', name.replace(/\.ts$/, '.js'));
      // `env -u`: tap's process-info hook re-adds NODE_OPTIONS (a loader inside the checkout) to every spawn.
      return outcome(
        spawn('env', ['-u', 'NODE_OPTIONS', node, script, ...args], {
          uid: who.uid,
          gid: who.gid,
          cwd: dir,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH, HOME: '/tmp' },
        }),
      );
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
