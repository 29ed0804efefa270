/**
 * The package as a consumer installs it: `npm pack`, then the tarball
 * installed into a fresh project with its own package.json (the addon is
 * built there from the shipped sources, with no dev dependency present).
 * There it is imported as ESM and require()d from CommonJS, each for a
 * SHA-256-checked echo across two processes, and a TypeScript file is
 * compiled against the shipped types. This catches files missing from
 * `files`, a build that needs dev dependencies, and types that do not
 * resolve.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/consumer', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// Installing builds the addon: generous, for a slow machine.
const LONG = { timeout: 15 * 60 * 1000, maxBuffer: 64 * 1024 * 1024 };

// tap's loader options must not reach the consumer's processes: they run
// plain JavaScript from the installed package, as a user's would.
const env = { ...process.env };
delete env.NODE_OPTIONS;

const work = mkdtempSync(join(tmpdir(), 'shmnet-pack-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const project = join(work, 'project');

t.before(async () => {
  const { stdout } = await run(npm, ['pack', '--silent', '--pack-destination', work], { cwd: repo, env, ...LONG });
  const tarball = stdout.trim().split('\n').pop()!;
  cpSync(fixture, project, { recursive: true });
  await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', join(work, tarball)], { cwd: project, env, ...LONG });
});

t.test('the tarball ships what a consumer needs, and nothing of the tests', async (t) => {
  const pkg = join(project, 'node_modules', 'shmnet');
  const top = readdirSync(pkg).sort();
  t.ok(top.includes('binding.gyp') && top.includes('native') && top.includes('dist'), `sources to build from: ${top.join(', ')}`);
  t.notOk(readdirSync(join(pkg, 'dist')).includes('test'), 'no compiled tests');
  t.ok(readdirSync(join(pkg, 'build', 'Release')).includes('shmnet.node'), 'the addon was built at install');
});

t.test('imported as an ES module: an echo across two processes over shared memory', async (t) => {
  const { stdout } = await run(process.execPath, ['echo.mjs', 'esm'], { cwd: project, env, ...LONG });
  const r = JSON.parse(stdout.trim().split('\n').pop()!);
  t.same(r, { module: 'esm', transport: 'shm', bytes: 8 * 1024 * 1024, same: true, serverTransport: 'shm' });
});

const requireEsm = (process.features as { require_module?: boolean }).require_module === true;
t.test('require()d from CommonJS: the same echo', { skip: requireEsm ? false : `Node ${process.version} cannot require() an ES module; CommonJS users use import()` }, async (t) => {
  const { stdout } = await run(process.execPath, ['echo.mjs', 'cjs'], { cwd: project, env, ...LONG });
  const r = JSON.parse(stdout.trim().split('\n').pop()!);
  t.same(r, { module: 'cjs', hasCodes: true, transport: 'shm', bytes: 8 * 1024 * 1024, same: true, serverTransport: 'shm' });
});

t.test('a TypeScript file compiles against the shipped types (moduleResolution nodenext)', async (t) => {
  // The consumer brings its own @types/node, as any Node TypeScript project does.
  symlinkSync(join(repo, 'node_modules', '@types'), join(project, 'node_modules', '@types'), 'dir');
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env, ...LONG }).then(
    () => ({ code: 0, out: '' }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
  );
  t.equal(r.code, 0, r.out || 'tsc --noEmit passed');
});
