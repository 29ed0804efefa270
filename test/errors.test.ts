import t from 'tap';
import { codes, syscallError, ShmnetError, isShmnetError, invalidArg } from '../src/errors.js';

t.test('syscall errors map errno to codes', async (t) => {
  const e = syscallError('shm_open', 28, undefined, '/x');
  t.equal(e.code, codes.NO_SPACE);
  t.equal(e.sysCode, 'ENOSPC');
  t.equal(e.errno, 28);
  t.equal(e.syscall, 'shm_open');
  t.ok(e instanceof ShmnetError);
  t.ok(isShmnetError(e));
  t.equal(syscallError('open', 2).code, codes.NOT_FOUND);
  t.equal(syscallError('open', 17).code, codes.EXISTS);
  t.equal(syscallError('open', 13).code, codes.PERMISSION);
  t.equal(syscallError('open', 5).code, codes.SYSCALL);
});

t.test('caller mistakes are TypeErrors with a code', async (t) => {
  const e = invalidArg('bad');
  t.ok(e instanceof TypeError);
  t.notOk(e instanceof ShmnetError);
  t.equal(e.code, 'SHMNET_ERR_INVALID_ARG');
  t.throws(() => { throw e; }, { code: codes.INVALID_ARG });
});
