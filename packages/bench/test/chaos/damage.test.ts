import { EchoSession, emptyDamage, harmful, type DamageCounts } from '../../src/chaos/damage';

function session(sent: number, counts: DamageCounts): EchoSession {
  const s = new EchoSession();
  for (let i = 0; i < sent; i++) s.nextSeq(counts);
  return s;
}

test('replies in order are answered, nothing else', () => {
  const counts = emptyDamage();
  const s = session(3, counts);
  for (const seq of [1, 2, 3]) expect(s.reply(seq, false, counts)).toBe(true);
  s.end('open', counts);
  expect(counts).toEqual({ ...emptyDamage(), sent: 3, answered: 3 });
  expect(s.outstanding).toBe(0);
  expect(harmful(counts)).toBe(0);
});

test('a reply after a later one is reordered, not lost', () => {
  const counts = emptyDamage();
  const s = session(3, counts);
  s.reply(1, false, counts);
  s.reply(3, false, counts);
  s.reply(2, false, counts);
  s.end('open', counts);
  expect(counts).toMatchObject({ answered: 3, reordered: 1, lost: 0 });
  expect(harmful(counts)).toBe(1);
});

test('second replies are duplicates, marked or not; a marked first reply is a redelivery, not a duplicate', () => {
  const counts = emptyDamage();
  const s = session(3, counts);
  s.reply(1, false, counts);
  expect(s.reply(1, true, counts)).toBe(false);
  expect(s.reply(1, false, counts)).toBe(false);
  expect(s.reply(2, true, counts)).toBe(true);
  s.reply(3, false, counts);
  s.end('open', counts);
  expect(counts).toMatchObject({ answered: 3, redelivered: 1, duplicatesMarked: 1, duplicatesUnmarked: 1, reordered: 0, lost: 0 });
  expect(harmful(counts)).toBe(1);
});

test('a gap is lost however the session ends; the unanswered tail is cut by a close and lost on an open connection', () => {
  const closed = emptyDamage();
  const a = session(6, closed);
  for (const seq of [1, 3, 4]) a.reply(seq, false, closed);
  a.end('closed', closed);
  expect(closed).toMatchObject({ answered: 3, lost: 1, cut: 2, reordered: 0 });

  const open = emptyDamage();
  const b = session(6, open);
  for (const seq of [1, 3, 4]) b.reply(seq, false, open);
  b.end('open', open);
  expect(open).toMatchObject({ answered: 3, lost: 3, cut: 0 });
});

test('end counts once; replies to numbers never sent are unsolicited', () => {
  const counts = emptyDamage();
  const s = session(2, counts);
  expect(s.reply(0, false, counts)).toBe(false);
  expect(s.reply(3, false, counts)).toBe(false);
  expect(s.reply(Number.NaN, false, counts)).toBe(false);
  s.end('closed', counts);
  s.end('open', counts);
  expect(counts).toMatchObject({ unsolicited: 3, cut: 2, lost: 0 });
});

test('out-of-order answers well above the contiguous prefix are tracked exactly', () => {
  const counts = emptyDamage();
  const s = session(100, counts);
  for (let seq = 100; seq >= 1; seq -= 2) s.reply(seq, false, counts); // evens, descending
  expect(s.outstanding).toBe(50);
  for (let seq = 1; seq < 100; seq += 2) s.reply(seq, false, counts);
  expect(s.outstanding).toBe(0);
  s.end('open', counts);
  expect(counts).toMatchObject({ answered: 100, lost: 0, reordered: 99 });
});
