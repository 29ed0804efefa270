import t from 'tap';
import { codes, createServer } from '../../src/index.js';

t.test('a node:net option shmnet does not honour is refused with a code, not passed on', async (t) => {
  t.throws(() => createServer({ pauseOnConnect: true } as never), { code: codes.UNSUPPORTED });
  const server = createServer({});
  t.ok(server, 'the same call without it works');
});
