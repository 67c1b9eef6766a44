import { choose } from '../../src/chaos/controller';
import { parseHealth } from '../../src/chaos/health';
import { isMarked, markRedelivered, MARKED_LAYOUT } from '../../src/chaos/numbered';
import { parseChaos, parseDuration } from '../../src/chaos/plan';
import { BENCH_HELP, parseBenchArgs } from '../../src/options';
import { encodeStamped, readSeq, readTime } from '../../src/payload';

test('--chaos flags: kinds in rotation, interval units, service and health URL from --url', () => {
  expect(parseChaos({ chaos: 'service,worker,reload', interval: '2.5s' }, 'ws://127.0.0.1:9000/echo?x=1')).toEqual({
    kinds: ['service', 'worker', 'reload'],
    intervalMs: 2500,
    services: ['echo'],
    healthUrl: 'http://127.0.0.1:9000/healthz',
    events: 0,
  });
  expect(parseChaos({ chaos: 'worker', events: '3' }, 'ws://h/echo')?.events).toBe(3);
  expect(parseDuration('chaos-interval', '500ms')).toBe(500);
  expect(parseDuration('chaos-interval', '1m')).toBe(60_000);
  expect(parseDuration('chaos-interval', '10')).toBe(10_000);
  expect(parseChaos({}, 'ws://h/echo')).toBeUndefined();
});

test('--help documents the chaos flags', () => {
  for (const flag of ['--chaos <kinds>', '--chaos-interval <time>', '--chaos-service <names>', '--health-url <url>', '--chaos-events <n>']) expect(BENCH_HELP).toContain(flag);
});

test.each([
  [['echo', '--chaos', 'service,nuke']],
  [['echo', '--chaos', 'worker', '--chaos-interval', '10 seconds']],
  [['echo', '--chaos', 'worker', '--chaos-interval', '50ms']],
  [['echo', '--chaos-interval', '1s']],
  [['echo', '--chaos-events', '3']],
  [['echo', '--chaos', 'worker', '--chaos-events', 'three']],
  [['fanout', '--chaos', 'worker']],
  [['echo', '--chaos', 'worker', '--protocol', 'socketio']],
  [['echo', '--url', 'ws://127.0.0.1:1/', '--chaos', 'service']],
  [['echo', '--chaos', 'worker', '--health-url', 'ftp://x/healthz']],
])('bad chaos flags %j are refused with SY_ERR_INVALID_OPTION', (argv) => {
  expect(() => parseBenchArgs(argv)).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_OPTION' }));
});

test('a marked reply keeps the fields at fixed offsets', () => {
  const payload = encodeStamped(42, false, 1234.5, 80).toString();
  const marked = Buffer.from(markRedelivered(payload));
  expect(JSON.parse(marked.toString())).toEqual({ redelivered: true, echo: JSON.parse(payload) });
  expect(isMarked(marked)).toBe(true);
  expect(isMarked(Buffer.from(payload))).toBe(false);
  expect(readSeq(marked, MARKED_LAYOUT)).toBe(42);
  expect(readTime(marked, MARKED_LAYOUT)).toBe(1234.5);
});

test('targets come from /healthz: the named service, a worker in rotation, the master for a reload', () => {
  const body = JSON.stringify({ processes: [
    { kind: 'master', pid: 10, state: 'listening' },
    { kind: 'worker', id: 1, pid: 11, state: 'online' },
    { kind: 'worker', id: 2, pid: 12, state: 'online' },
    { kind: 'service', name: 'chat', pid: 20, state: 'online' },
    { kind: 'service', name: 'echo', pid: 21, state: 'online' },
    { kind: 'bogus', pid: 99 },
  ] });
  const health = parseHealth(200, body);
  const plan = parseChaos({ chaos: 'service' }, 'ws://127.0.0.1:1/echo');
  if (plan === undefined) throw new Error('no plan');
  expect(choose('service', plan, health, 0).pid).toBe(21);
  expect(choose('worker', plan, health, 1).pid).toBe(12);
  const reload = choose('reload', plan, health, 0);
  expect(reload.pid).toBe(10);
  // Recovered once every old child pid is gone and /healthz is 200 again.
  expect(reload.recovered(health)).toBe(false);
  const replaced = parseHealth(200, body.replace(/"pid":1([12])/g, '"pid":3$1').replace(/"pid":2([01])/g, '"pid":4$1'));
  expect(reload.recovered(replaced)).toBe(true);
  expect(reload.recovered({ ...replaced, status: 503 })).toBe(false);
  const both = { ...plan, services: ['echo', 'chat'] };
  expect([0, 1, 2].map((index) => choose('service', both, health, index).pid)).toEqual([21, 20, 21]);
  expect(() => choose('service', { ...plan, services: ['nope'] }, health, 0)).toThrow(/no running instance of service "nope"/);
  expect(() => parseHealth(200, '<html>')).toThrow(/not a Switchyard \/healthz body/);
});
