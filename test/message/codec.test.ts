/**
 * The codecs on their own: what a records receiver can be made to keep
 * (a fixed table of RECORD_SLOTS definitions), and the frame flag's place.
 */
import t from 'tap';
import { createPackr, createRecordsUnpackr, LENGTH_MASK, RECORD_SLOTS, RECORDS_FLAG } from '../../src/message/codec.js';
import { MAX_MESSAGE_SIZE_LIMIT } from '../../src/message/message-conn.js';

function table(u: object): unknown[] {
  return (u as { structures: unknown[] }).structures;
}

t.test('the flag lies above every length a MessageConn accepts', async (t) => {
  t.ok(MAX_MESSAGE_SIZE_LIMIT <= LENGTH_MASK);
  t.equal((RECORDS_FLAG & LENGTH_MASK) >>> 0, 0);
  t.equal(((RECORDS_FLAG | LENGTH_MASK) >>> 0) + 1, 2 ** 32);
});

t.test('a records receiver holds RECORD_SLOTS definitions and no more', async (t) => {
  const u = createRecordsUnpackr();
  t.equal(table(u).length, RECORD_SLOTS);
  t.notOk(Object.isExtensible(table(u)), 'the table cannot grow');
  // Every one-byte id, defined.
  for (let id = 0; id < 64; id++) t.same(u.unpack(Buffer.from([0xd4, 0x72, id, 0x91, 0xa1, 0x6b, id])), { k: id });
  // Two-byte ids, which would land outside the table (negative or above 63), are refused.
  let refused = 0;
  let tried = 0;
  for (let hb = 1; hb < 256; hb += 17) {
    for (const id of [0, 5, 31, 32, 63]) {
      tried++;
      try {
        u.unpack(Buffer.from([0xd5, 0x72, id, hb, 0x91, 0xa1, 0x6b, 1]));
      } catch {
        refused++;
      }
    }
  }
  t.equal(refused, tried, `all ${tried} two-byte definitions refused`);
  t.equal(table(u).length, RECORD_SLOTS, 'the table kept its size');
  t.same(Object.keys(table(u)).filter((k) => /^-?\d+$/.test(k)).length, RECORD_SLOTS, 'and has no other entries');
  t.same(u.unpack(Buffer.from([0x45, 9])), { k: 9 }, 'the one-byte definitions still work');
});

t.test("a records packer's frames decode in order, and repeat shapes carry no keys", async (t) => {
  const p = createPackr(true);
  const u = createRecordsUnpackr();
  const first = p.pack({ alpha: 1, beta: 'two' });
  const second = p.pack({ alpha: 3, beta: 'four' });
  t.ok(second.length < first.length, `${second.length} < ${first.length} bytes`);
  t.notOk(Buffer.from(second).includes(Buffer.from('alpha')), 'the keys are not in the second frame');
  t.same(u.unpack(first), { alpha: 1, beta: 'two' });
  t.same(u.unpack(second), { alpha: 3, beta: 'four' });
});
