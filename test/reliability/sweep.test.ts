/**
 * The start-up sweep removes exactly the shmnet names whose creator is
 * dead, and nothing else: not a live process's, not our own, not another
 * user's, not other software's.
 */
import t from 'tap';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, openShm, sweepStale, unlinkShm } from '../../src/index.js';
import { processExists, segmentCreator } from '../../src/handshake/index.js';

const made: string[] = [];
t.teardown(() => {
  for (const n of made) {
    try {
      unlinkShm(n);
    } catch {
      // swept already
    }
  }
});

/** A name in shmnet's shape for `pid`. */
function nameFor(pid: number): string {
  const chars = '0123456789abcdefghijklmnopqrstuv';
  let s = '';
  for (const b of randomBytes(16)) s += chars[b & 31];
  return `/shmnet.${pid.toString(36)}.${s}`;
}

function make(name: string): string {
  openShm(name, { size: 4096, create: true, exclusive: true }).close();
  made.push(name);
  return name;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await once(c, 'exit');
  return c.pid!;
}

const linux = process.platform === 'linux' ? false : 'the sweep lists /dev/shm, which only Linux has';

t.test('processExists', async (t) => {
  t.equal(processExists(process.pid), true);
  t.equal(processExists(await deadPid()), false);
  t.equal(processExists(0), false);
  t.equal(processExists(-1), false);
  t.equal(processExists(1), true, 'pid 1 exists (EPERM counts as alive)');
});

t.test('the first listen() sweeps; sweepStale() removes only stale shmnet names', { skip: linux }, async (t) => {
  const dead = await deadPid();
  const stale = make(nameFor(dead));
  t.equal(segmentCreator(stale.slice(1)), dead);
  // The first listen() of a Server in this process runs the sweep.
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.notOk(existsSync(`/dev/shm${stale}`), 'the first listen() removed the stale name');
  server.close();

  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  const stale2 = make(nameFor(dead));
  const live = make(nameFor(sleeper.pid!));
  const own = make(nameFor(process.pid));
  const foreign = make(`/shmnet-test-${process.pid}-${dead.toString(36)}`);
  const oddShape = make(`/shmnet.${dead.toString(36)}.short`);
  // (Only our names are compared: a stale name some other dead process left may go too.)
  const removed = sweepStale().filter((n) => made.includes(n));
  t.same(removed, [stale2], 'exactly the stale name was removed');
  for (const n of [live, own, foreign, oddShape]) t.ok(existsSync(`/dev/shm${n}`), `kept ${n}`);
  t.same(sweepStale().filter((n) => made.includes(n)), [], 'a second sweep finds nothing');
  // Once the live process dies, its name is stale too.
  sleeper.kill('SIGKILL');
  await once(sleeper, 'exit');
  t.same(sweepStale().filter((n) => made.includes(n)), [live]);
});

t.test("another user's stale name is left to that user", { skip: linux || (process.geteuid?.() !== 0 && 'needs root to chown') }, async (t) => {
  const theirs = make(nameFor(await deadPid()));
  chownSync(`/dev/shm${theirs}`, 65534, 65534);
  t.notOk(sweepStale().includes(theirs));
  t.ok(existsSync(`/dev/shm${theirs}`));
});
