/** Cross-process test helpers: fork a real peer process running a fixture. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** Forks `test/fixtures/<name>` with an IPC channel (TypeScript loaders are inherited). */
export function forkFixture(name: string, args: string[] = [], env?: NodeJS.ProcessEnv): ChildProcess {
  return fork(fixturePath(name), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
}

/** Runs a fixture under a command prefix (e.g. `unshare -m ...`); resolves with its exit code and output. */
export async function runFixtureWith(
  prefix: string[],
  name: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const node = [process.execPath, ...process.execArgv, fixturePath(name), ...args];
  return outcome(spawn(prefix[0]!, [...prefix.slice(1), ...node], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Resolves with a spawned child's exit code and everything it printed. */
export async function outcome(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}

/** Resolves with the next IPC message from `child` that satisfies `pred`. */
export function nextMessage<T = any>(child: ChildProcess, pred: (m: any) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (!pred(m)) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`peer exited (code ${code}, signal ${signal}) before the expected message`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export async function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit');
  return code as number | null;
}

/** Entries of /dev/shm whose name contains `marker`. */
export function shmEntries(marker: string): string[] {
  try {
    return readdirSync('/dev/shm').filter((n) => n.includes(marker));
  } catch {
    return [];
  }
}

/** Polls `cond` every few ms until it holds or `ms` pass. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A unique name for an object a test creates. */
export function testName(tag: string): string {
  return `shmnet-test-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** A fresh Unix-socket path under the temporary directory. */
export function socketPath(): string {
  return join(tmpdir(), `shmnet-test-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
}

/** Fails the test file at teardown if a /dev/shm name this process created is left. */
export function expectNoNamesLeft(t: { teardown(fn: () => void): void }): void {
  const own = `shmnet.${process.pid.toString(36)}.`;
  t.teardown(() => {
    const left = shmEntries(own);
    if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
  });
}
