/**
 * SIGBUS safety: another process truncates what this one has mapped.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapFile, openShm, unlinkShm, codes } from '../../src/index.js';
import * as native from '../../src/native.js';
import { fixturePath, forkFixture, nextMessage, shmEntries, testName, waitExit } from '../helpers/peer.js';

const dir = mkdtempSync(join(tmpdir(), 'shmnet-truncate-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;

const truncator = forkFixture('truncate-file.ts');
const ready = nextMessage(truncator, (m) => m === 'ready');
t.teardown(async () => {
  truncator.send('exit');
  await waitExit(truncator);
});

/** Has the other process truncate `path`; resolves with the size it now has. */
async function truncateElsewhere(path: string, size: number): Promise<number> {
  await ready;
  const reply = nextMessage<{ size: number }>(truncator, (m) => typeof m === 'object' && m !== null && 'size' in m);
  truncator.send({ path, size });
  return (await reply).size;
}

function patterned(name: string, size: number): [string, Buffer] {
  const content = Buffer.alloc(size);
  for (let i = 0; i < size; i++) content[i] = (i * 13) % 251;
  const p = join(dir, name);
  writeFileSync(p, content);
  return [p, content];
}

t.test('a child truncates the file: methods fail with TRUNCATED, the process runs on, remap() works', async (t) => {
  const [p, content] = patterned('shrink.bin', 1024 * KiB);
  const r = mapFile(p, { mode: 'rw' });
  const buf = Buffer.alloc(100);
  t.equal(r.readAt(buf, 512 * KiB), 100);

  t.equal(await truncateElsewhere(p, 8 * KiB), 8 * KiB);

  t.throws(() => r.readAt(buf, 512 * KiB), { code: codes.TRUNCATED }, 'readAt past the new end');
  t.throws(() => r.writeAt(buf, 512 * KiB), { code: codes.TRUNCATED }, 'writeAt past the new end');
  t.throws(() => r.readUint64At(100 * KiB), { code: codes.TRUNCATED });
  t.throws(() => r.writeUint64At(100 * KiB, 1n), { code: codes.TRUNCATED });
  r.seek(9 * KiB);
  t.throws(() => r.read(buf), { code: codes.TRUNCATED }, 'read at the cursor');
  t.equal(r.position, 9 * KiB, 'a failed read does not move the cursor');
  t.throws(() => r.readAt(buf, 8 * KiB - 50), { code: codes.TRUNCATED }, 'an access straddling the new end fails whole');
  t.throws(() => r.writeAt(Buffer.alloc(100, 0xaa), 8 * KiB - 50), { code: codes.TRUNCATED });
  let err: any;
  try {
    r.readAt(buf, 512 * KiB);
  } catch (e) {
    err = e;
  }
  t.match(err?.message, /truncated to 8192 bytes/, 'the message says how long the file is now');
  t.equal(err?.path, p);

  t.equal(r.readAt(buf, 100), 100, 'bytes the file still holds read as before');
  t.ok(buf.equals(content.subarray(100, 200)));
  r.writeAt(Buffer.from('still-here'), 0);
  t.equal(r.size, 1024 * KiB, 'size is unchanged until remap()');
  t.pass('the process is still running');

  r.remap();
  t.equal(r.size, 8 * KiB, 'remap() maps the new size');
  t.equal(r.bytes.length, 8 * KiB);
  t.equal(r.readAt(buf, 8 * KiB), 0, 'end of region');
  t.throws(() => r.readAt(buf, 9 * KiB), { code: codes.OUT_OF_RANGE });
  r.readAt(buf, 0);
  t.equal(buf.subarray(0, 10).toString(), 'still-here');

  // It grows again: remap() follows (no length was asked for).
  t.equal(await truncateElsewhere(p, 64 * KiB), 64 * KiB);
  r.remap();
  t.equal(r.size, 64 * KiB);
  t.equal(r.readAt(buf, 60 * KiB), 100);
  t.equal(buf.findIndex((b) => b !== 0), -1, 'the grown part reads as zeros');

  // Down to nothing: remap() refuses and leaves the region as it was.
  await truncateElsewhere(p, 0);
  t.throws(() => r.remap(), { code: codes.TRUNCATED });
  t.equal(r.size, 64 * KiB);
  t.throws(() => r.readAt(buf, 0), { code: codes.TRUNCATED });
  r.close();
  t.throws(() => r.remap(), { code: codes.CLOSED });
});

t.test('past a new end inside its last page: no SIGBUS there, still TRUNCATED', async (t) => {
  // The kernel maps the rest of the last page (zeros, writes discarded), so
  // only the size check tells these bytes are gone.
  const [p] = patterned('tail.bin', 64 * KiB);
  const r = mapFile(p, { mode: 'rw' });
  await truncateElsewhere(p, 5000);
  t.throws(() => r.readAt(Buffer.alloc(10), 5000), { code: codes.TRUNCATED }, 'a read would have given zeros');
  t.throws(() => r.writeAt(Buffer.from('lost'), 6000), { code: codes.TRUNCATED }, 'a write would have vanished');
  t.equal(r.readAt(Buffer.alloc(10), 4990), 10, 'the last bytes the file holds');
  r.close();
});

t.test('a windowed region, and an explicit length, after truncation', async (t) => {
  const [p] = patterned('windowed.bin', 256 * KiB);
  const r = mapFile(p, { mode: 'rw', window: 64 * KiB, offset: 10 * KiB, length: 200 * KiB });
  await truncateElsewhere(p, 100 * KiB);
  t.throws(() => r.readAt(Buffer.alloc(10), 150 * KiB), { code: codes.TRUNCATED }, 'in a window not mapped yet');
  t.throws(() => r.readAt(Buffer.alloc(20 * KiB), 85 * KiB), { code: codes.TRUNCATED }, 'across windows');
  t.equal(r.readAt(Buffer.alloc(10), 80 * KiB), 10, 'below the new end');
  r.remap();
  t.equal(r.size, 90 * KiB, 'the requested length shrinks to what the file holds past the offset');
  await truncateElsewhere(p, 512 * KiB);
  r.remap();
  t.equal(r.size, 200 * KiB, 'and grows back to at most the requested length');
  r.close();
});

t.test('the guard catches a truncation racing the size check', async (t) => {
  // The size check is skipped (handle -1) to stand for a truncation that
  // lands between the check and the copy.
  const [p] = patterned('race.bin', 1024 * KiB);
  const r = mapFile(p, { mode: 'rw' });
  truncateSync(p, 4 * KiB);
  const out = Buffer.alloc(100);
  t.equal(native.copy(out.buffer, out.byteOffset, r.buffer, r.byteOffset + 512 * KiB, 100), native.FAULTED, 'reading a vanished page');
  t.equal(native.copy(r.buffer, r.byteOffset + 512 * KiB, out.buffer, out.byteOffset, 100), native.FAULTED, 'writing one');
  t.equal(native.copy(out.buffer, out.byteOffset, r.buffer, r.byteOffset, 100), native.COPIED, 'pages that remain still copy');
  const mapped = r.buffer;
  r.close();
  t.throws(() => native.copy(out.buffer, 0, mapped, 0, 1), { code: codes.INVALID_ARG }, 'a detached buffer is refused, not read');
});

t.test('a named shm object truncated by another process', { skip: process.platform !== 'linux' && 'truncates through /dev/shm' }, async (t) => {
  const name = `/${testName('trunc')}`;
  const r = openShm(name, { size: 1024 * KiB, create: true, exclusive: true });
  t.teardown(() => {
    if (shmEntries(name.slice(1)).length > 0) unlinkShm(name);
  });
  r.writeAt(Buffer.from('head'), 0);
  await truncateElsewhere(`/dev/shm${name}`, 4 * KiB);
  t.throws(() => r.readAt(Buffer.alloc(8), 512 * KiB), { code: codes.TRUNCATED }, 'readAt of a vanished page');
  t.throws(() => r.writeAt(Buffer.alloc(8), 512 * KiB), { code: codes.TRUNCATED });
  t.throws(() => r.readUint64At(512 * KiB), { code: codes.TRUNCATED });
  const head = Buffer.alloc(4);
  r.readAt(head, 0);
  t.equal(head.toString(), 'head', 'the pages that remain still work');
  t.throws(() => r.remap(), { code: codes.UNSUPPORTED });
  r.close();
  unlinkShm(name);
});

for (const how of ['bytes', 'kill'] as const) {
  t.test(`outside the methods SIGBUS keeps its default action (${how})`, { skip: process.platform === 'win32' }, async (t) => {
    const p = join(dir, `unsafe-${how}.bin`);
    const child = spawn(process.execPath, [...process.execArgv, fixturePath('truncate-unsafe.ts'), p, how], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    const [code, signal] = await once(child, 'exit');
    t.notMatch(stdout, /survived/, 'the guard did not swallow it');
    t.same([code, signal], [null, 'SIGBUS'], 'the child died of SIGBUS, as without shmnet');
  });
}
