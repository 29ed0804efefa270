/**
 * What the ring costs over the two kinds of buffer a mapping can reach JS
 * as: a SharedArrayBuffer (the V8 build on Linux and macOS) and an
 * external, non-shared ArrayBuffer (the Node-API-only build on Windows).
 * The ring touches its control words only with Atomics.load/store, which
 * work on both; this measures what each costs, in one thread:
 *
 *   - Atomics.load and Atomics.store on an Int32Array, ns per operation;
 *   - a 1 MiB ring, write + read(target) of 1 KiB and 64 KiB chunks, MB/s.
 *
 * Both kinds run in one process, interleaved (SAB, AB, SAB, AB, …), and
 * the median of the repetitions is printed with the ratio AB / SAB. Runs
 * with Windows' node.exe too (it prints to a file when stdout is one:
 * `node dist/bench/buffer-kinds.js [reps] [out-file]`).
 */
import { writeFileSync } from 'node:fs';
import { regionSize, ringOffsets } from '../src/ring/header.js';
import { RING_C2S } from '../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer } from '../src/ring/ring.js';

const REPS = Number(process.argv[2] ?? 5);
const OUT = process.argv[3];
const CAPACITY = 1 << 20;
const MS_PER_REP = 400;

type Kind = 'SharedArrayBuffer' | 'ArrayBuffer';
const KINDS: Kind[] = ['SharedArrayBuffer', 'ArrayBuffer'];

function buffer(kind: Kind, size: number): SharedArrayBuffer | ArrayBuffer {
  return kind === 'SharedArrayBuffer' ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
}

/** Runs `step` for MS_PER_REP ms; returns steps per second. */
function rate(step: () => void): number {
  for (let i = 0; i < 1000; i++) step();
  const t0 = performance.now();
  const deadline = t0 + MS_PER_REP;
  let steps = 0;
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < 256; i++) step();
    steps += 256;
    now = performance.now();
  }
  return (steps * 1000) / (now - t0);
}

const OPS_PER_STEP = 64;
let sink = 0;

const cases: Array<{ name: string; unit: 'ns/op' | 'MB/s'; run: (kind: Kind) => number }> = [
  {
    name: 'Atomics.load',
    unit: 'ns/op',
    run: (kind) => {
      const words = new Int32Array(buffer(kind, 4096));
      return 1e9 / (OPS_PER_STEP * rate(() => {
        for (let i = 0; i < OPS_PER_STEP; i++) sink += Atomics.load(words, i & 31);
      }));
    },
  },
  {
    name: 'Atomics.store',
    unit: 'ns/op',
    run: (kind) => {
      const words = new Int32Array(buffer(kind, 4096));
      return 1e9 / (OPS_PER_STEP * rate(() => {
        for (let i = 0; i < OPS_PER_STEP; i++) Atomics.store(words, i & 31, i);
      }));
    },
  },
];
for (const size of [1024, 64 * 1024]) {
  cases.push({
    name: `ring write + read, ${size / 1024} KiB`,
    unit: 'MB/s',
    run: (kind) => {
      const mem = buffer(kind, regionSize(CAPACITY));
      const { controlOffset, dataOffset } = ringOffsets(CAPACITY)[RING_C2S]!;
      initRing(mem, controlOffset);
      const producer = new RingProducer(mem, controlOffset, dataOffset, CAPACITY);
      const consumer = new RingConsumer(mem, controlOffset, dataOffset, CAPACITY);
      const src = new Uint8Array(size).fill(7);
      const target = new Uint8Array(size);
      return (size * rate(() => {
        if (producer.write(src) !== size) throw new Error('short write');
        if (consumer.read(target, 0, size) !== size) throw new Error('short read');
      })) / 1e6;
    },
  },
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const lines = [
  `buffer-kinds: Node ${process.version}, ${process.platform}-${process.arch}, ${new Date().toISOString().slice(0, 10)}, ` +
    `${REPS} interleaved reps of ${MS_PER_REP} ms per kind, medians, one thread`,
  '| case | SharedArrayBuffer | ArrayBuffer (non-shared) | AB / SAB |',
  '|---|---:|---:|---:|',
];
for (const c of cases) {
  const samples: Record<Kind, number[]> = { SharedArrayBuffer: [], ArrayBuffer: [] };
  for (let r = 0; r < REPS; r++) for (const kind of KINDS) samples[kind].push(c.run(kind));
  const sab = median(samples.SharedArrayBuffer);
  const ab = median(samples.ArrayBuffer);
  const digits = c.unit === 'ns/op' ? 2 : 0;
  lines.push(`| ${c.name} (${c.unit}) | ${sab.toFixed(digits)} | ${ab.toFixed(digits)} | ${(ab / sab).toFixed(2)} |`);
}
if (sink === 0.5) lines.push('');
if (OUT) writeFileSync(OUT, lines.join('\n') + '\n');
else console.log(lines.join('\n'));
