#!/usr/bin/env node
/**
 * `npm run test:stress`: runs test/stress/soak.ts with the TypeScript
 * loader the tests use and --expose-gc (mapped regions are counted after a
 * full collection). Arguments are passed on, e.g.
 *   npm run test:stress -- --duration=600 --cycles=1000 --concurrent=200
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
const soak = fileURLToPath(new URL('./soak.ts', import.meta.url));
const child = spawn(process.execPath, ['--expose-gc', '--import', loader, soak, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
