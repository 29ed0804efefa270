/**
 * A server whose /dev/shm cannot hold another region: under 'auto' the
 * client silently gets the socket (and every byte), under 'shm' a coded
 * SHMNET_ERR_NO_SPACE — never SIGBUS, since the pages are reserved when the
 * region is created.
 *
 * The peers run in a child with a private 3 MiB /dev/shm (a mount
 * namespace, like Docker's small default /dev/shm): one 2 MiB region fits,
 * a second does not. Server and client must share that /dev/shm (a client
 * outside it could not open the name and would fall back for that reason),
 * so both run in the child (fixtures/reliability-nospace.ts). That needs
 * root and unshare; elsewhere the test is skipped with the reason.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { codes } from '../../src/index.js';
import { runFixtureWith } from '../helpers/peer.js';

function privateShmUnavailable(): string | false {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /dev/shm'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'cannot mount a private /dev/shm here (needs root and unshare -m)';
}

t.test('a full /dev/shm: fallback under auto, NO_SPACE under shm', { skip: privateShmUnavailable() }, async (t) => {
  const run = await runFixtureWith(
    ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o size=3m tmpfs /dev/shm && exec "$@"', 'sh'],
    'reliability-nospace.ts',
  );
  t.equal(run.code, 0, `the child ran (${run.stderr.trim().slice(0, 500)})`);
  const r = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}');
  t.equal(r.first, 'shm', 'the first connection fits in shared memory');
  t.equal(r.second, 'tcp', "the second falls back silently under 'auto'");
  t.equal(r.secondIntact, true, 'and carries every byte (SHA-256)');
  t.equal(r.strictClient, codes.NO_SPACE, "a client asking for 'shm' gets SHMNET_ERR_NO_SPACE");
  t.same(r.strictClientServerSide, [codes.NO_SPACE], 'the server reports it as a handshake error');
  t.equal(r.firstIntact, true, 'the first connection is unharmed');
  t.equal(r.strictServer, codes.NO_SPACE, "a server with transport 'shm' refuses with SHMNET_ERR_NO_SPACE");
  t.same(r.strictServerSide, [codes.NO_SPACE]);
  t.same(r.left.filter((n: string) => n.startsWith('shmnet.')), [], 'no name left in that /dev/shm');
});
