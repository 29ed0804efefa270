#!/usr/bin/env node
/**
 * `npm run test:scale`: runs test/scale/scale.ts (1,000 loaded and 10,000
 * idle Conns) with the TypeScript loader the tests use, after raising the
 * open-file limit to the hard limit (each Conn holds a socket on each side).
 * Arguments are passed on, e.g. `npm run test:scale -- --idle=2000`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
const scale = fileURLToPath(new URL('./scale.ts', import.meta.url));
const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', process.execPath, '--expose-gc', '--import', loader, scale, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
