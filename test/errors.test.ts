import t from 'tap';
import { codes, syscallError, ShmnetError, ShmnetRangeError, ShmnetTypeError, isShmnetError, invalidArg } from '../src/errors.js';

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

t.test('instanceof holds for each class across two copies of the module', async (t) => {
  // A query string makes the loader evaluate the file again: a second copy, as two installs of the package would be.
  const specifier = '../src/errors.js?second-copy';
  const copy = (await import(specifier)) as typeof import('../src/errors.js');
  t.not(copy.ShmnetError, ShmnetError, 'it is a second copy');
  const mine = [new ShmnetError(codes.HANDSHAKE, 'x'), new ShmnetTypeError('x'), new ShmnetRangeError('x')];
  const theirs = [new copy.ShmnetError(codes.HANDSHAKE, 'x'), new copy.ShmnetTypeError('x'), new copy.ShmnetRangeError('x')];
  const classes = [ShmnetError, ShmnetTypeError, ShmnetRangeError];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      t.equal(theirs[i] instanceof classes[j]!, i === j, `copy's ${classes[i]!.name} instanceof ${classes[j]!.name}`);
      t.equal(mine[i] instanceof classes[j]!, i === j, `${classes[i]!.name} instanceof ${classes[j]!.name}`);
    }
    t.ok(isShmnetError(theirs[i]));
  }
  t.notOk(new TypeError('x') instanceof ShmnetTypeError, 'a plain TypeError is not one');
});
