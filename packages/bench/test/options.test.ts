import { isSwitchyardError } from 'switchyard';
import { benchOptions, DEFAULT_CONNECTIONS, parseBenchArgs, type BenchOptions } from '../src/options';

function run(argv: string[], tty = false): BenchOptions {
  const command = parseBenchArgs(argv, tty);
  if (command.command !== 'run') throw new Error('expected a run command');
  return command.options;
}

function codeOf(thunk: () => unknown): string | undefined {
  try {
    thunk();
  } catch (error) {
    return isSwitchyardError(error) ? error.code : 'not a SwitchyardError';
  }
  return undefined;
}

test('defaults for echo', () => {
  const options = run(['echo']);
  expect(options).toMatchObject({ scenario: 'echo', url: 'ws://127.0.0.1:8080/echo', protocol: 'ws', connections: DEFAULT_CONNECTIONS, inflight: 10, size: 64, rate: 0, procs: 0, json: false, progress: false });
  expect(Object.isFrozen(options)).toBe(true);
});

test('every flag is read', () => {
  const options = run(['fanout', '--url', 'ws://127.0.0.2:9000/fanout', '-c', '2000', '-w', '3', '-d', '2.5', '--warmup', '0', '--size', '128',
    '--rate', '500', '--hold', '7', '--procs', '2', '--max-per-proc', '1000', '--per-address', '500', '--source-base', '300', '--connect-timeout', '3', '--json', '--protocol', 'socketio']);
  expect(options).toMatchObject({ scenario: 'fanout', url: 'ws://127.0.0.2:9000/fanout', connections: 2000, inflight: 3, duration: 2.5, warmup: 0, size: 128,
    rate: 500, hold: 7, procs: 2, maxPerProc: 1000, perAddress: 500, sourceBase: 300, connectTimeout: 3, json: true, progress: false, protocol: 'socketio' });
});

test('fanout publisher defaults to one message in flight', () => {
  expect(run(['fanout']).inflight).toBe(1);
});

test('progress follows the TTY unless told', () => {
  expect(run(['echo'], true).progress).toBe(true);
  expect(run(['echo', '--json'], true).progress).toBe(false);
  expect(run(['echo', '--no-progress'], true).progress).toBe(false);
  expect(run(['echo', '--progress']).progress).toBe(true);
});

test('help', () => {
  expect(parseBenchArgs(['--help'])).toEqual({ command: 'help' });
  expect(parseBenchArgs(['echo', '-h'])).toEqual({ command: 'help' });
});

test.each([
  [[]],
  [['nope']],
  [['echo', 'extra']],
  [['echo', '-c', '0']],
  [['echo', '-c', 'ten']],
  [['echo', '--size', '10']],
  [['echo', '--url', 'http://localhost/echo']],
  [['echo', '--url', 'not a url']],
  [['echo', '--max-per-proc', '25000']],
  [['echo', '--bogus']],
  [['echo', '--protocol', 'mqtt']],
])('rejects %j with SY_ERR_INVALID_OPTION', (argv) => {
  expect(codeOf(() => parseBenchArgs(argv))).toBe('SY_ERR_INVALID_OPTION');
});

test('benchOptions merges overrides over the defaults', () => {
  const options = benchOptions({ scenario: 'connect', url: 'ws://127.0.0.1:1/x', connections: 5 });
  expect(options).toMatchObject({ scenario: 'connect', connections: 5, inflight: 10, progress: false });
});
