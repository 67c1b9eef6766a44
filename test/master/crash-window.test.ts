import { CrashWindow } from '../../src/master/crash-window';

function clock(): { now: () => number; advance(ms: number): void } {
  let time = 1_000_000;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

test('loopCount crashes within the window trip the rule; older ones fall out of it', () => {
  const { now, advance } = clock();
  const crashes = new CrashWindow(1000, 3, now);
  expect(crashes.record('a')).toBe(false);
  expect(crashes.record('b')).toBe(false);
  advance(1000);
  expect(crashes.record('c')).toBe(false);
  expect(crashes.size).toBe(1);
  expect(crashes.record('d')).toBe(false);
  expect(crashes.record('e')).toBe(true);
});

test('forgive takes the named crash and the ones before it, up to deliveries in all, out of the window', () => {
  const crashes = new CrashWindow(60_000, 5, clock().now);
  for (const endpoint of ['unrelated', 'p1', 'p2', 'later']) crashes.record(endpoint);
  crashes.forgive('p2', 2, 'current');
  expect(crashes.size).toBe(2);
  // Twice the same report, or one naming a crash already gone, forgives nothing more.
  crashes.forgive('p2', 2, 'current');
  expect(crashes.size).toBe(2);
});

test('a report that outruns the exit of the current instance is applied at that exit; one naming another instance is dropped', () => {
  const crashes = new CrashWindow(60_000, 3, clock().now);
  crashes.record('p1');
  crashes.forgive('p2', 2, 'p2');
  crashes.forgive('gone', 2, 'p2');
  // The crash of p2 is counted and forgiven with p1's before the rule is checked.
  expect(crashes.record('p2')).toBe(false);
  expect(crashes.size).toBe(0);
  crashes.record('x');
  crashes.record('y');
  expect(crashes.record('z')).toBe(true);
});

test('reset empties the window and drops a pending report', () => {
  const crashes = new CrashWindow(60_000, 2, clock().now);
  crashes.record('a');
  crashes.forgive('b', 5, 'b');
  crashes.reset();
  expect(crashes.size).toBe(0);
  crashes.record('b');
  expect(crashes.size).toBe(1);
});
