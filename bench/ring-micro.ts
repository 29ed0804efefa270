/**
 * Ring microbenchmark: one thread pushes chunks through a 1 MiB ring and
 * reads them back, ~2 s per case, printing MB/s (bytes moved through the
 * ring: one copy in and one copy out per byte). A memcpy of the same
 * chunk size into a SharedArrayBuffer is printed for scale. Each case runs
 * in its own child process: sharing one heap and one set of inline caches
 * across cases skewed later cases by up to 3×.
 *
 *   node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/ring-micro.ts [seconds]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { regionSize, ringOffsets } from '../src/ring/header.js';
import { RING_C2S } from '../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer } from '../src/ring/ring.js';

const SECONDS = Number(process.argv[2] ?? 2);
const CAPACITY = 1 << 20;

interface Case {
  name: string;
  size: number;
  misalign: number;
  kind: 'pingpong' | 'batch' | 'memcpy';
}

const cases: Case[] = [];
for (const size of [1024, 64 * 1024]) {
  for (const misalign of [0, 3]) {
    const tag = `${size / 1024} KiB${misalign ? ', src misaligned' : ''}`;
    cases.push({ name: `${tag}: write + read(target)`, size, misalign, kind: 'pingpong' });
    cases.push({ name: `${tag}: fill ring, drain readBuffer(64 KiB)`, size, misalign, kind: 'batch' });
  }
  cases.push({ name: `${size / 1024} KiB: memcpy into SAB (one copy, scale)`, size, misalign: 0, kind: 'memcpy' });
}

function ring(): { producer: RingProducer; consumer: RingConsumer } {
  const sab = new SharedArrayBuffer(regionSize(CAPACITY));
  const { controlOffset, dataOffset } = ringOffsets(CAPACITY)[RING_C2S]!;
  initRing(sab, controlOffset);
  return {
    producer: new RingProducer(sab, controlOffset, dataOffset, CAPACITY),
    consumer: new RingConsumer(sab, controlOffset, dataOffset, CAPACITY),
  };
}

/** Runs `step` (moving `bytesPerStep` bytes) for SECONDS; returns MB/s. */
function measure(bytesPerStep: number, step: () => void): number {
  for (let i = 0; i < 2000; i++) step(); // warm up
  const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
  let steps = 0;
  const t0 = process.hrtime.bigint();
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < 64; i++) step();
    steps += 64;
    now = process.hrtime.bigint();
  }
  return (steps * bytesPerStep) / (Number(now - t0) / 1e3);
}

function runCase(c: Case): number {
  const { size } = c;
  const src = new Uint8Array(size + 8).fill(7).subarray(c.misalign, c.misalign + size);
  if (c.kind === 'pingpong') {
    const { producer, consumer } = ring();
    const target = new Uint8Array(size);
    return measure(size, () => {
      if (producer.write(src) !== size) throw new Error('short write');
      if (consumer.read(target, 0, size) !== size) throw new Error('short read');
    });
  }
  if (c.kind === 'batch') {
    const { producer, consumer } = ring();
    const perFill = CAPACITY / size;
    return measure(CAPACITY, () => {
      for (let i = 0; i < perFill; i++) producer.write(src);
      while (consumer.readBuffer(65536) !== null);
    });
  }
  const sab = new Uint8Array(new SharedArrayBuffer(CAPACITY));
  let pos = 0;
  return measure(size, () => {
    sab.set(src, pos);
    pos = (pos + size) & (CAPACITY - 1);
  });
}

const only = process.argv[3];
if (only !== undefined) {
  process.stdout.write(String(runCase(cases[Number(only)]!)));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log(`ring-micro: Node ${process.version}, ${process.arch}, ${new Date().toISOString().slice(0, 10)}, ${SECONDS} s per case, 1 MiB ring, one thread`);
  console.log(`| case | MB/s |\n|---|---:|`);
  for (let i = 0; i < cases.length; i++) {
    const out = execFileSync(process.execPath, [...process.execArgv, self, String(SECONDS), String(i)], { encoding: 'utf8' });
    console.log(`| ${cases[i]!.name} | ${Number(out).toFixed(0)} |`);
  }
}
