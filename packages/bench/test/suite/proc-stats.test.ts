import { parseStat, parseVmRss, processTree, treeCpuSeconds, treeRssBytes } from '../../suite/proc-stats';

// A real line from /proc/<pid>/stat, with a command name holding a space and a ')'.
const LINE = '4242 (node worker) x) S 4200 4242 4200 0 -1 4194560 2931 0 0 0 123 45 0 0 20 0 11 0 1759 1080262656 12345 18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 0 17 1 0 0 0 0 0';

test('parseStat reads pid, name, parent and CPU ticks', () => {
  expect(parseStat(LINE)).toEqual({ pid: 4242, comm: 'node worker) x', ppid: 4200, utime: 123, stime: 45 });
});

test('parseStat rejects what is not a stat line', () => {
  expect(() => parseStat('garbage')).toThrow();
  expect(() => parseStat('1 (x) S')).toThrow();
});

test('parseVmRss reads kB as bytes', () => {
  expect(parseVmRss('Name:\tnode\nVmPeak:\t  100 kB\nVmRSS:\t   51200 kB\nThreads:\t11\n')).toBe(51200 * 1024);
  expect(parseVmRss('Name:\tzombie\n')).toBe(0);
});

test('this process is in its own tree and has CPU time and memory', () => {
  expect(processTree(process.pid)[0]).toBe(process.pid);
  expect(treeCpuSeconds(process.pid)).toBeGreaterThan(0);
  expect(treeRssBytes(process.pid)).toBeGreaterThan(1024 * 1024);
});
