// A pipeline of worker threads joined by shmnet worker channels:
//
//   main ──text──▶ [upper] ──TEXT──▶ [stats] ──JSON──▶ main
//
//   npm run build && node examples/worker-pipeline.mjs
//
// createChannel() returns two plain port objects; each goes to the thread
// that owns that end (here in workerData, no transfer list needed), where
// openChannel(port) gives a Conn: an ordinary Duplex, so stages are built
// with pipe() and Transform streams. Wake-ups between threads use
// Atomics.waitAsync/notify on the rings; no MessagePort carries the data.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { createChannel, openChannel } from '../dist/src/index.js';

const LINES = 200_000;

function line(i) {
  return `line ${i}: the quick brown fox jumps over the lazy dog\n`;
}

if (isMainThread) {
  const toUpper = createChannel();
  const toStats = createChannel();
  const toMain = createChannel();
  const workers = [
    new Worker(new URL(import.meta.url), { workerData: { stage: 'upper', input: toUpper.port2, output: toStats.port1 } }),
    new Worker(new URL(import.meta.url), { workerData: { stage: 'stats', input: toStats.port2, output: toMain.port1 } }),
  ];

  const source = openChannel(toUpper.port1);
  const sink = openChannel(toMain.port2);
  let reply = '';
  sink.on('data', (d) => (reply += d));

  // What the pipeline should compute, for checking.
  const expected = createHash('sha256');
  let bytes = 0;
  let i = 0;
  const pump = () => {
    while (i < LINES) {
      const text = line(i++);
      expected.update(text.toUpperCase());
      bytes += text.length;
      if (!source.write(text)) return source.once('drain', pump);
    }
    source.end();
  };
  pump();

  await once(sink, 'end');
  const stats = JSON.parse(reply);
  console.log(`stats from the pipeline: ${stats.lines} lines, ${stats.bytes} bytes, sha256 ${stats.sha256.slice(0, 16)}…`);
  const ok = stats.lines === LINES && stats.bytes === bytes && stats.sha256 === expected.digest('hex');
  console.log(ok ? 'pipeline output verified' : 'pipeline output WRONG');
  await Promise.all(workers.map((w) => once(w, 'exit')));
  process.exitCode = ok ? 0 : 1;
} else if (workerData.stage === 'upper') {
  const input = openChannel(workerData.input);
  const output = openChannel(workerData.output);
  const upper = new Transform({
    transform(chunk, _encoding, cb) {
      cb(null, Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1'));
    },
  });
  input.pipe(upper).pipe(output);
} else if (workerData.stage === 'stats') {
  const input = openChannel(workerData.input);
  const output = openChannel(workerData.output);
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  input.on('data', (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
    for (let k = chunk.indexOf(10); k !== -1; k = chunk.indexOf(10, k + 1)) lines++;
  });
  input.on('end', () => output.end(JSON.stringify({ lines, bytes, sha256: hash.digest('hex') })));
}
