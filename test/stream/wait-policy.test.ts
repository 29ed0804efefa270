/** WaitPolicy on its own, with a fake clock: budgets, learning, the choice between spinning and parking. */
import t from 'tap';
import { DEFAULT_REPLY_CAP_US, EXPLORE_PARK, EXPLORE_SPIN as EXPLORE, STALL_US, WaitPolicy } from '../../src/stream/wait-policy.js';

/** A clock in ms that the test moves. */
function fakeClock(): { now: () => number; advance(us: number): void } {
  let ms = 1000;
  return { now: () => ms, advance: (us: number) => void (ms += us / 1000) };
}

/** Spin turns of `turnUs` each until the policy parks (or `limit` turns); returns the turns taken. */
function spinUntilPark(p: WaitPolicy, clock: ReturnType<typeof fakeClock>, turnUs: number, limit = 1e6): number {
  let turns = 0;
  while (p.spin()) {
    if (++turns >= limit) break;
    clock.advance(turnUs);
  }
  return turns;
}

/**
 * One reply wait of `replyUs` (polled every `turnUs`): wrote, wait, and the
 * reply arrives, spun for or after parking; a parked wait also pays the
 * doorbell's wake-up, `bellUs`.
 */
function exchange(p: WaitPolicy, clock: ReturnType<typeof fakeClock>, replyUs: number, turnUs = 5, bellUs = 100): 'spun' | 'parked' {
  p.wrote();
  let waited = 0;
  while (waited < replyUs) {
    if (!p.spin()) {
      clock.advance(replyUs - waited + bellUs);
      p.received();
      return 'parked';
    }
    clock.advance(turnUs);
    waited += turnUs;
  }
  p.received();
  return 'spun';
}

t.test('spin 0 never spins, for any kind of wait', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 0, clock: c.now });
  t.equal(p.spin(), false, 'a wait that is not a reply');
  for (let i = 0; i < 3 * EXPLORE; i++) t.equal(exchange(p, c, 20), 'parked');
  p.received();
  t.equal(p.spin(), false);
  t.equal(p.wrote(), false, 'a parked wait that becomes a reply wait is not spun');
  t.equal(p.stats().replySpinUs, 0);
});

t.test('a wait that is not a reply spins the base budget, then parks', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  const turns = spinUntilPark(p, c, 5);
  t.ok(turns >= 19 && turns <= 21, `100 µs of 5 µs turns (${turns})`);
  // Still the same wait: once parked, a spurious wake-up does not restart the budget.
  t.equal(p.spin(), false);
  c.advance(10_000);
  t.equal(p.spin(), false, 'an idle Conn woken for nothing parks again at once');
  p.received();
  const again = spinUntilPark(p, c, 5);
  t.ok(again >= 19 && again <= 21, `a new wait after data gets the budget again (${again})`);
});

t.test('reply waits learn the reply time and spin for it, never past the cap', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  for (let i = 0; i < 200; i++) exchange(p, c, 40);
  const s = p.stats();
  t.ok(s.replySpunUs >= 35 && s.replySpunUs <= 45, `learned ~40 µs (${s.replySpunUs})`);
  t.ok(s.replySpinUs >= s.replySpunUs && s.replySpinUs <= 100, `spins a little longer than that (${s.replySpinUs} µs)`);
  // An idle stretch after the last reply: the wait spins at most the budget.
  p.wrote();
  const turns = spinUntilPark(p, c, 1);
  t.ok(turns <= s.replySpinUs + 1, `idle after a request: ${turns} turns of 1 µs for a ${s.replySpinUs} µs budget`);

  // Wildly varying replies cannot push the budget past the cap.
  const q = new WaitPolicy({ baseUs: 100, clock: c.now });
  for (let i = 0; i < 200; i++) exchange(q, c, i % 2 === 0 ? 10 : 900);
  q.wrote();
  const spun = spinUntilPark(q, c, 1);
  t.ok(spun <= DEFAULT_REPLY_CAP_US + 1, `${spun} turns of 1 µs, cap ${DEFAULT_REPLY_CAP_US} µs`);
  t.ok(q.stats().replySpinUs <= DEFAULT_REPLY_CAP_US);
});

t.test('a peer that answers slowly is not spun for', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  const ways = Array.from({ length: 10 * EXPLORE }, () => exchange(p, c, 50_000));
  t.equal(p.stats().replySpinUs, 0, 'no spin budget');
  const spun = ways.slice(EXPLORE).filter((w) => w === 'spun').length;
  t.equal(spun, 0, 'none of the replies came while spinning');
  // Exploring waits spin, but never longer than the cap.
  let maxTurns = 0;
  for (let i = 0; i < 2 * EXPLORE; i++) {
    p.wrote();
    maxTurns = Math.max(maxTurns, spinUntilPark(p, c, 1));
    c.advance(50_000);
    p.received();
  }
  t.ok(maxTurns <= DEFAULT_REPLY_CAP_US + 1, `longest exploring spin ${maxTurns} µs`);
});

t.test('parks when parking answers as soon as spinning, and keeps checking', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  // The first reply wait spins (nothing known yet), then parking is tried and found as fast.
  let spinWaits = 0;
  for (let i = 0; i < 20 * EXPLORE; i++) {
    p.wrote();
    const first = p.spin();
    if (first) spinWaits++;
    // A busy machine: the reply takes 300 µs either way.
    while (p.spin()) c.advance(10);
    c.advance(300);
    p.received();
  }
  t.equal(p.stats().replySpinUs, 0, 'prefers parking');
  t.ok(spinWaits >= 10 && spinWaits <= 40, `explores with a spin now and then (${spinWaits} of ${20 * EXPLORE})`);
});

t.test('spins again once spinning pays', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  // Parking: replies take 200 µs (doorbell); spinning: they come after 30 µs.
  for (let i = 0; i < 40 * EXPLORE; i++) {
    p.wrote();
    let waited = 0;
    let way: 'spun' | 'parked' = 'parked';
    while (p.spin()) {
      c.advance(5);
      waited += 5;
      if (waited >= 30) {
        way = 'spun';
        break;
      }
    }
    if (way === 'parked') c.advance(200);
    p.received();
  }
  const s = p.stats();
  t.ok(s.replySpinUs > 0, `spins for replies (${s.replySpinUs} µs budget, spun ${s.replySpunUs} µs, parked ${s.replyParkedUs} µs)`);
  p.received();
  t.equal(p.spin(), true);
  while (p.spin()) c.advance(5);
  t.equal(p.wrote(), true, 'a request written while parked is spun for');
});

t.test('a late turn (the thread lost its core) parks at once', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 1000, clock: c.now });
  t.equal(p.spin(), true);
  c.advance(5);
  t.equal(p.spin(), true);
  c.advance(STALL_US + 1);
  t.equal(p.spin(), false, 'parks');
  t.equal(p.stats().spinStalls, 1);
  c.advance(5);
  t.equal(p.spin(), false, 'and stays parked for the rest of that wait');
});

t.test('one long idle pause does not stop spinning for a fast peer', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  for (let i = 0; i < 100; i++) exchange(p, c, 20);
  exchange(p, c, 10_000_000);
  t.ok(p.stats().replySpinUs > 0, `still spins after a 10 s pause (${p.stats().replySpinUs} µs)`);
  for (let i = 0; i < 50; i++) exchange(p, c, 20);
  t.ok(p.stats().replySpinUs < 200, `and settles back (${p.stats().replySpinUs} µs)`);
});

t.test('a fast peer: a parked reply wait, which costs a wake-up, is rare', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  const ways = Array.from({ length: 10 * EXPLORE_PARK }, () => exchange(p, c, 20));
  const parked = ways.filter((w) => w === 'parked').length;
  t.ok(parked >= 5 && parked <= 15, `${parked} of ${ways.length} reply waits parked (one in ${EXPLORE_PARK} explores)`);
  t.ok(p.stats().replyParkedUs > 0, 'and the doorbell is still measured');
});

t.test('a fast peer that turns slow: spinning stops by its own late replies', async (t) => {
  const c = fakeClock();
  const p = new WaitPolicy({ baseUs: 100, clock: c.now });
  for (let i = 0; i < 2 * EXPLORE_PARK; i++) exchange(p, c, 20);
  t.ok(p.stats().replySpinUs > 0, 'spins for the fast peer');
  // Now every reply takes 3 ms: past the cap, so no spin can catch one.
  const ways = Array.from({ length: 4 * EXPLORE }, () => exchange(p, c, 3000));
  const spunLast = ways.slice(-2 * EXPLORE).filter((w) => w === 'spun').length;
  t.equal(spunLast, 0, 'no reply is caught by a spin');
  t.equal(p.stats().replySpinUs, 0, `prefers parking within ${2 * EXPLORE} waits, long before the next parked exploration`);
});
