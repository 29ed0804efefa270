/**
 * Message mode on its own: the `message` table of the bench CLI
 * (`npm run bench -- --only message`), kept as a script of its own name.
 *
 *   node dist/bench/message-mode.js [shmnet-bench options]      (after npm run build)
 *   node --import ./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/message-mode.ts [options]
 *
 * The measurement lives in message.ts (see there and README, Benchmarks):
 * MessageConn one-way messages/s of 64-byte objects from the bench's peer
 * process to the bench process, over shm and over the TCP fallback, in a
 * timed window after a warm-up, repeated and interleaved as every table of
 * the CLI. Options are the CLI's (--reps, --duration, --warmup, --json, …).
 */
process.argv.splice(2, 0, '--only', 'message');
await import('./cli.js');

export {};
