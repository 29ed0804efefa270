/**
 * The start-up sweep: removes shared-memory names that a shmnet process
 * created and never unlinked because it died (SIGKILL, the OOM killer, a
 * crash in native code) while a handshake was in flight.
 *
 * A name only exists between MAPINFO and ACK (see segment.ts), so a live
 * connection never has one and the sweep can never pull memory from under
 * a connection: unlinking a name frees nothing that is still mapped, it
 * only lets the kernel free the pages once the last mapping goes.
 *
 * A name is stale when it has shmnet's exact shape
 * (`shmnet.<pid base 36>.<16 base-32 chars>`), is a regular file owned by
 * our effective uid, and its creator pid does not exist any more
 * (`kill(pid, 0)` fails with ESRCH; EPERM means the process exists). A
 * reused pid keeps a stale name alive until that process exits too: the
 * sweep errs on the side of leaving a name.
 *
 * Linux lists POSIX shared-memory objects as files in /dev/shm. macOS has
 * no way to list them (no /dev/shm, no API), so there the sweep does
 * nothing; Windows frees a named mapping with its last handle, so nothing
 * can leak there in the first place.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { unlinkShm } from '../mapping/shm.js';
import { segmentCreator } from './segment.js';

/** Where Linux shows POSIX shared-memory objects. */
export const SHM_DIRECTORY = '/dev/shm';

/** True when `pid` names a process that exists (or might: any answer but ESRCH). */
export function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists and belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the shmnet shared-memory names whose creator process is gone,
 * and returns them (with their leading `/`). Names of live processes,
 * names owned by another user and names of other software are left alone.
 * Never throws: a name that cannot be examined or removed is skipped.
 *
 * Linux only; on other platforms it returns `[]` (macOS cannot list POSIX
 * shared memory; Windows needs no sweep). A `Server` runs it once per
 * process, on its first `listen()`.
 */
export function sweepStale(): string[] {
  if (process.platform !== 'linux') return [];
  let entries: string[];
  try {
    entries = readdirSync(SHM_DIRECTORY);
  } catch {
    return [];
  }
  const euid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
  const removed: string[] = [];
  for (const entry of entries) {
    const pid = segmentCreator(entry);
    if (pid === undefined || pid === process.pid || processExists(pid)) continue;
    let st: Stats;
    try {
      st = lstatSync(`${SHM_DIRECTORY}/${entry}`);
    } catch {
      continue; // gone meanwhile
    }
    if (!st.isFile() || (euid !== -1 && st.uid !== euid)) continue;
    try {
      unlinkShm(`/${entry}`);
      removed.push(`/${entry}`);
    } catch {
      // removed by someone else meanwhile, or not ours to remove
    }
  }
  return removed;
}

let swept = false;

/** Runs `sweepStale()` the first time it is called in this process; later calls do nothing. */
export function sweepStaleOnce(): string[] {
  if (swept) return [];
  swept = true;
  return sweepStale();
}
