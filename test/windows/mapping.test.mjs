/**
 * The mapping API on Windows: a named mapping (CreateFileMappingW in the
 * Local\ namespace) opened by a second process, Atomics across the two
 * processes on the (non-shared) ArrayBuffer the Node-API build returns,
 * the name's lifetime (it lives until unlinkShm, then only as a view),
 * anonymous and file mappings, and SysV refused with a code.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codes, createSysV, mapAnonymous, mapFile, openShm, unlinkShm } from '../../dist/src/index.js';
import { startPeer, test, within } from './harness.mjs';

const shmName = (label) => `/shmnet-test-${process.pid}-${label}`;
const sharedKind = process.platform === 'win32' ? ArrayBuffer : SharedArrayBuffer;

test('openShm creates a named mapping: sized, zeroed, Atomics work on its buffer', () => {
  const name = shmName('create');
  const region = openShm(name, { size: 65536, create: true, exclusive: true });
  try {
    assert.equal(region.size, 65536);
    assert.ok(region.buffer instanceof sharedKind, `buffer is a ${region.buffer.constructor.name}`);
    const words = new Int32Array(region.buffer, 0, 16);
    assert.equal(Atomics.load(words, 3), 0);
    Atomics.store(words, 3, 7);
    assert.equal(Atomics.add(words, 3, 1), 7);
    assert.equal(Atomics.compareExchange(words, 3, 8, 9), 8);
    assert.equal(Atomics.load(words, 3), 9);
    assert.throws(() => openShm(name, { size: 65536, create: true, exclusive: true }), { code: codes.EXISTS });
  } finally {
    unlinkShm(name);
    region.close();
  }
});

test('a second process sees every Atomics.store on the mapping and answers (20,000 round trips)', async () => {
  const name = shmName('pingpong');
  const region = openShm(name, { size: 65536, create: true, exclusive: true });
  const slots = new Int32Array(region.buffer, 0, 2);
  const rounds = 20_000;
  const peer = startPeer({ mode: 'map-pingpong', name, rounds, timeoutMs: 120_000 });
  // The peer opens the name itself; until it has, our stores go unanswered.
  let started = 0;
  const deadline = Date.now() + 120_000;
  for (let round = 1; round <= rounds; round++) {
    // SYNC POINT with the peer's Atomics.load(slots, 0): its turn.
    Atomics.store(slots, 0, round);
    if (round === 2) started = performance.now();
    // SYNC POINT with the peer's Atomics.store(slots, 1, round): its answer.
    while (Atomics.load(slots, 1) !== round) {
      if (Date.now() > deadline) throw new Error(`round ${round}: no answer from the other process`);
    }
  }
  const perRound = ((performance.now() - started) * 1e6) / (rounds - 1);
  const { code } = await within(60_000, 'the peer to exit', peer.exited);
  assert.equal(code, 0, 'the peer saw every round');
  console.log(`# ${rounds} cross-process round trips over Atomics.load/store: ${perRound.toFixed(0)} ns each`);
  unlinkShm(name);
  region.close();
});

test('unlinkShm removes the name at once; the creator\'s view stays usable', () => {
  const name = shmName('unlink');
  const region = openShm(name, { size: 65536, create: true, exclusive: true });
  const other = openShm(name);
  const bytes = randomBytes(3000);
  region.writeAt(bytes, 100);
  const back = Buffer.alloc(3000);
  other.readAt(back, 100);
  assert.deepEqual(back, bytes, 'a second mapping of the name sees the same memory (guarded copies)');
  other.close();
  unlinkShm(name);
  assert.throws(() => openShm(name), { code: codes.NOT_FOUND });
  region.bytes[101] = 43;
  assert.equal(region.bytes[101], 43);
  // The name is free again: a new object, not the old memory.
  const again = openShm(name, { size: 65536, create: true, exclusive: true });
  assert.equal(again.bytes[100], 0, 'a new object');
  unlinkShm(name);
  again.close();
  region.close();
});

test('mapAnonymous and mapFile work; a flushed file mapping reaches the file', () => {
  const anon = mapAnonymous(1 << 20);
  assert.equal(anon.size, 1 << 20);
  anon.bytes.fill(5, 0, 4096);
  assert.equal(anon.bytes[4095], 5);
  anon.close();
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-win-'));
  try {
    const path = join(dir, 'data.bin');
    writeFileSync(path, Buffer.alloc(65536));
    const bytes = randomBytes(1000);
    const file = mapFile(path, { mode: 'rw' });
    file.writeAt(bytes, 5000);
    file.flush();
    file.close();
    assert.deepEqual(readFileSync(path).subarray(5000, 6000), bytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (process.platform === 'win32') {
  test('SysV shared memory is refused with a code (it does not exist on Windows)', () => {
    assert.throws(() => createSysV(65536), { code: codes.UNSUPPORTED });
  });
}
