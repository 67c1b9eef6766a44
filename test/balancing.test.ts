import { kernelMigratesRequests, listenBalancing, reusePortAvailable } from '../src/balancing';

test.each([
  ['20.20.2', 'linux', false],
  ['22.11.0', 'linux', false],
  ['22.12.0', 'linux', true],
  ['23.0.0', 'linux', false],
  ['23.1.0', 'linux', true],
  ['24.22.3', 'linux', true],
  ['25.0.0', 'freebsd', true],
  ['24.22.3', 'darwin', false],
  ['24.22.3', 'win32', false],
] as const)('reusePort on Node %s (%s): %s', (version, platform, available) => {
  expect(reusePortAvailable(version, platform)).toBe(available);
});

test('the kernel migrates a closing listener\'s connections only with net.ipv4.tcp_migrate_req = 1', () => {
  expect(kernelMigratesRequests(() => '1\n')).toBe(true);
  expect(kernelMigratesRequests(() => '0\n')).toBe(false);
  expect(kernelMigratesRequests(() => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  })).toBe(false);
});

test("'auto' is reuse-port where that is safe, kernel-fair elsewhere; the other modes stay as given", () => {
  expect(listenBalancing('auto', true)).toBe('reuse-port');
  expect(listenBalancing('auto', false)).toBe('kernel-fair');
  for (const mode of ['round-robin', 'kernel', 'kernel-fair', 'reuse-port'] as const) {
    expect(listenBalancing(mode, true)).toBe(mode);
    expect(listenBalancing(mode, false)).toBe(mode);
  }
});
