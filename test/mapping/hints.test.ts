/**
 * `populate` and `hugePages`: accepted by every mapping constructor on
 * every platform, reported on the region, and (on Linux, through smaps)
 * shown to have done what the region reports.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapFile, mapAnonymous, openShm, unlinkShm, createSysV, openSysV, removeSysV, codes, type MappedRegion } from '../../src/index.js';
import { smaps, mappingsOf, rssKiB, smapsAvailable, type Vma } from '../fixtures/mapping-smaps.js';
import { testName } from '../helpers/peer.js';

const dir = mkdtempSync(join(tmpdir(), 'shmnet-hints-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;
const MiB = 1024 * KiB;
const linux = process.platform === 'linux';
const [major = 0, minor = 0] = release().split('.').map(Number);
/** MADV_POPULATE_READ exists from Linux 5.14 on; before it, populate falls back to MADV_WILLNEED. */
const populateRead = linux && (major > 5 || (major === 5 && minor >= 14)) ? 'populate' : 'willneed';
/** Transparent huge pages are built into this kernel (MADV_HUGEPAGE is accepted). */
const thp = linux && existsSync('/sys/kernel/mm/transparent_hugepage/enabled');
function freeHugePages(): number {
  try {
    const m = /HugePages_Free:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
/** What a non-Linux platform reports for populate. */
const elsewherePreload = process.platform === 'win32' || process.platform === 'darwin' ? 'willneed' : 'none';
const hintedHuge = thp ? 'transparent' : 'none';

/** The single mapping of `size` bytes whose path matches (anonymous and SysV memory have no file name). */
function vmaBySize(size: number, path: RegExp): Vma | undefined {
  const found = smaps().filter((v) => path.test(v.path) && Number(v.end - v.start) === size);
  return found.length === 1 ? found[0] : undefined;
}

/** Resident kB of a mapping; hugetlb pages are counted apart from Rss. */
function resident(v: Vma): number {
  return (v.kb.Rss ?? 0) + (v.kb.Shared_Hugetlb ?? 0) + (v.kb.Private_Hugetlb ?? 0);
}

function checkBooleans(t: Test, make: (o: object) => MappedRegion) {
  t.throws(() => make({ populate: 'yes' }), { code: codes.INVALID_ARG });
  t.throws(() => make({ hugePages: 1 }), { code: codes.INVALID_ARG });
}

t.test('mapFile', async (t) => {
  const size = 4 * MiB;
  const p = join(dir, 'file.bin');
  writeFileSync(p, Buffer.alloc(size, 1));

  const plain = mapFile(p, { mode: 'rw' });
  t.equal(plain.preload, 'none');
  t.equal(plain.hugePages, 'none');
  if (smapsAvailable) t.ok(rssKiB(mappingsOf(p)) * KiB < size / 8, 'without populate few pages are resident');
  plain.close();

  const rw = mapFile(p, { mode: 'rw', populate: true, hugePages: true });
  t.equal(rw.preload, linux ? 'populate' : elsewherePreload, "'rw': MAP_POPULATE");
  t.equal(rw.populated, rw.preload === 'populate');
  t.equal(rw.hugePages, hintedHuge, 'an ordinary file: transparent huge pages requested');
  t.equal(rw.huge, false);
  if (smapsAvailable) {
    const [vma] = mappingsOf(p);
    t.equal(rssKiB(mappingsOf(p)) * KiB, size, 'every page is resident at once');
    if (thp) t.ok(vma!.flags.includes('hg'), 'the mapping carries MADV_HUGEPAGE (VmFlags hg)');
  }
  rw.close();

  const ro = mapFile(p, { populate: true });
  t.equal(ro.preload, linux ? populateRead : elsewherePreload, "'r': MADV_POPULATE_READ");
  if (smapsAvailable) {
    const vmas = mappingsOf(p);
    t.equal(rssKiB(vmas) * KiB, size, 'every page is resident');
    t.equal(vmas[0]!.kb.Anonymous, 0, 'without copying the file into private memory (no COW break)');
  }
  ro.close();
  checkBooleans(t, (o) => mapFile(p, o));
});

t.test('mapAnonymous', async (t) => {
  const size = 6 * MiB;
  const free = freeHugePages();
  const expectHuge = linux && free * 2 * MiB >= size ? 'hugetlb' : hintedHuge;
  const r = mapAnonymous(size, { populate: true, hugePages: true });
  t.equal(r.hugePages, expectHuge, `huge pages: ${expectHuge} (free huge pages before: ${free})`);
  t.equal(r.huge, expectHuge === 'hugetlb');
  t.equal(r.preload, linux ? 'populate' : elsewherePreload);
  if (smapsAvailable) {
    const vma = vmaBySize(size, /^\/(dev\/zero|anon_hugepage)/);
    t.ok(vma, 'found the mapping');
    if (vma) {
      t.equal(resident(vma), size / KiB, 'MAP_POPULATE made every page resident');
      t.ok(vma.flags.includes(expectHuge === 'hugetlb' ? 'ht' : 'hg'), `VmFlags: ${vma.flags.join(' ')}`);
    }
  }
  r.bytes.fill(2);
  r.close();
  const plain = mapAnonymous(size);
  t.equal(plain.preload, 'none');
  t.equal(plain.hugePages, 'none');
  plain.close();
  checkBooleans(t, (o) => mapAnonymous(4096, o));
});

t.test('openShm', async (t) => {
  const name = `/${testName('hints')}`;
  const size = 2 * MiB;
  const r = openShm(name, { size, create: true, exclusive: true, populate: true, hugePages: true });
  t.teardown(() => unlinkShm(name));
  t.equal(r.preload, linux ? 'populate' : elsewherePreload);
  t.equal(r.hugePages, hintedHuge);
  if (smapsAvailable) {
    const vmas = mappingsOf(`/dev/shm${name}`);
    t.equal(rssKiB(vmas) * KiB, size, 'every page is resident');
    if (thp) t.ok(vmas[0]!.flags.includes('hg'));
  }
  const again = openShm(name, { populate: false });
  t.equal(again.preload, 'none');
  again.close();
  r.close();
  checkBooleans(t, (o) => openShm(name, o));
});

t.test('createSysV / openSysV', { skip: process.platform === 'win32' && 'no SysV on Windows' }, async (t) => {
  const size = 4 * MiB;
  const expectHuge = linux && freeHugePages() * 2 * MiB >= size ? 'hugetlb' : hintedHuge;
  const r = createSysV(size, { populate: true, hugePages: true });
  t.teardown(() => removeSysV(r.id!));
  t.equal(r.hugePages, expectHuge);
  t.equal(r.preload, linux ? populateRead : process.platform === 'darwin' ? 'willneed' : 'none');
  if (smapsAvailable) {
    const vma = vmaBySize(size, /^\/SYSV/);
    t.ok(vma, 'found the segment');
    if (vma) t.equal(resident(vma), size / KiB, 'every page is resident');
  }
  const other = openSysV(r.id!, { populate: true });
  t.equal(other.preload, r.preload);
  other.close();
  r.close();
  checkBooleans(t, (o) => openSysV(r.id!, o));
});
