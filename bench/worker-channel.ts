/**
 * Worker channel vs MessagePort on its own: the `worker` table of the
 * bench CLI (`npm run bench -- --only worker`), kept as a script of its own
 * name.
 *
 *   node dist/bench/worker-channel.js [shmnet-bench options]      (after npm run build)
 *   node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/worker-channel.ts [options]
 *
 * The measurement lives in worker.ts and worker-sender.ts (see there and
 * README, Benchmarks): one-way throughput worker → main thread at 1 KiB and
 * 64 KiB, for a worker channel with the defaults and tuned
 * (`{ ringSize: 4 MiB, spin: 1000 }`), `MessagePort.postMessage` with
 * structured clone and with transfer; a fresh worker per sample, bytes
 * counted in a timed window after a warm-up. Options are the CLI's.
 */
process.argv.splice(2, 0, '--only', 'worker');
await import('./cli.js');

export {};
