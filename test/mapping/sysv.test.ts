import t from 'tap';
import { readFileSync } from 'node:fs';
import { createSysV, openSysV, removeSysV, codes } from '../../src/index.js';
import { forkFixture, nextMessage, until, waitExit } from '../helpers/peer.js';

const SHM_DEST = 0o1000;

/** SysV ids that exist and are not marked for removal (Linux). */
function sysvIds(): Set<number> {
  try {
    const lines = readFileSync('/proc/sysvipc/shm', 'utf8').trim().split('\n').slice(1);
    const rows = lines.map((l) => l.trim().split(/\s+/));
    return new Set(rows.filter((r) => (parseInt(r[2]!, 8) & SHM_DEST) === 0).map((r) => Number(r[1])));
  } catch {
    return new Set();
  }
}

const created: number[] = [];
t.teardown(() => {
  const live = sysvIds();
  const left = created.filter((id) => live.has(id));
  for (const id of left) removeSysV(id);
  if (left.length > 0) throw new Error(`test left SysV segments: ${left.join(', ')}`);
});

t.test('create, open by id, remove', async (t) => {
  const a = createSysV(10000);
  created.push(a.id!);
  t.equal(a.kind, 'sysv');
  t.type(a.id, 'number');
  t.equal(a.size, 10000);
  a.writeAt(Buffer.from('sysv!'), 9995);
  const b = openSysV(a.id!);
  t.equal(b.size, 10000, 'opens at the segment size');
  const got = Buffer.alloc(5);
  b.readAt(got, 9995);
  t.equal(got.toString(), 'sysv!');
  t.ok(sysvIds().has(a.id!));
  removeSysV(a.id!);
  t.notOk(sysvIds().has(a.id!), 'marked for removal');
  a.close();
  b.close();
  t.throws(() => openSysV(-1), { code: codes.INVALID_ARG });
  t.throws(() => openSysV(1.5), { code: codes.INVALID_ARG });
  t.throws(() => createSysV(0), { code: codes.OUT_OF_RANGE });
  t.throws(() => createSysV(4096, { mode: -1 }), { code: codes.INVALID_ARG });
  t.throws(() => openSysV(0x7ffffff0), { code: codes.INVALID_ARG }, 'shmctl says EINVAL for an id that does not exist');
});

t.test('a forked child opens the same SysV id and both see each other', async (t) => {
  const region = createSysV(4096);
  created.push(region.id!);
  const words = new Int32Array(region.buffer as SharedArrayBuffer, 0, 64);
  const child = forkFixture('mapping-peer.ts', ['sysv', String(region.id)]);
  region.writeAt(Buffer.from('sysv from parent'), 64);
  // SYNC POINT with the child's poll of slot 0.
  Atomics.store(words, 0, 1);
  const msg = await nextMessage(child);
  t.equal(msg.seen, 'sysv from parent');
  await until(() => Atomics.load(words, 1) === 2, 5000, 'the child flag');
  const reply = Buffer.alloc(60);
  region.readAt(reply, 128);
  t.match(reply.toString().replace(/\0+$/, ''), /saw: sysv from parent$/);
  t.equal(await waitExit(child), 0);
  removeSysV(region.id!);
  t.notOk(sysvIds().has(region.id!));
  region.close();
});
