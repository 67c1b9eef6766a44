import { isSwitchyardError } from '../../src/errors';
import { resolveClusterOptions, splitServerList } from '../../src/nats/cluster-options';

function message(value: unknown): string {
  try {
    resolveClusterOptions(value);
  } catch (error) {
    expect(isSwitchyardError(error, 'SY_ERR_INVALID_OPTION')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

test('no cluster: nothing to resolve, nothing changes', () => {
  expect(resolveClusterOptions(undefined)).toBeUndefined();
});

test('the shape a user writes resolves to NATS settings, frozen, with defaults', () => {
  const resolved = resolveClusterOptions({ node: 'a', nats: 'nats://10.0.0.5:4222, 10.0.0.6:4222' });
  expect(resolved).toEqual({
    node: 'a',
    name: 'switchyard',
    nodes: ['a'],
    heartbeatInterval: 500,
    deadAfter: 3000,
    nats: { servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'], name: 'switchyard-switchyard-a' },
  });
  expect(Object.isFrozen(resolved)).toBe(true);
  expect(Object.isFrozen(resolved?.nats.servers)).toBe(true);
  expect(
    resolveClusterOptions({ node: 'b', name: 'prod', nats: ['tls://n1:4222', 'tls://n2:4222'], user: 'sy', pass: 'secret', tls: { caFile: '/etc/ca.pem' }, deadAfter: 5000 }),
  ).toEqual({
    node: 'b',
    name: 'prod',
    nodes: ['b'],
    heartbeatInterval: 500,
    deadAfter: 5000,
    nats: { servers: ['tls://n1:4222', 'tls://n2:4222'], name: 'switchyard-prod-b', user: 'sy', pass: 'secret', tls: { caFile: '/etc/ca.pem' } },
  });
  // A tls:// URL alone asks for TLS with the system's CAs.
  expect(resolveClusterOptions({ node: 'a', nats: 'tls://n1:4222', token: 't0k' })?.nats).toMatchObject({ tls: {}, token: 't0k' });
});

test('--nats is repeatable and takes comma lists', () => {
  expect(splitServerList(['nats://a:4222,nats://b:4222', ' nats://c:4222 ', ''])).toEqual(['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
});

test.each([
  [[], 'options.cluster must be an object with node and nats, got []'],
  [{ nats: 'n:4222' }, 'options.cluster.node must be 1 to 64 letters, digits, "_" or "-", got undefined'],
  [{ node: 'a.b', nats: 'n:4222' }, 'options.cluster.node must be 1 to 64 letters, digits, "_" or "-", got "a.b"'],
  [{ node: 'a', nats: 'n:4222', name: 'x y' }, 'options.cluster.name must be 1 to 64 letters, digits, "_" or "-", got "x y"'],
  [{ node: 'a' }, 'options.cluster.nats must be a NATS server URL, a comma-separated list of them, or an array of them, got undefined'],
  [{ node: 'a', nats: ' , ' }, 'options.cluster.nats must be at least one NATS server, got " , "'],
  [{ node: 'a', nats: ['nats://ok:4222', 'http://web:80'] }, 'options.cluster.nats.1 must be a NATS server URL like nats://host:4222 (nats:// or tls://, no path), got "http://web:80"'],
  [{ node: 'a', nats: 'n:4222', user: 'u' }, 'options.cluster.pass must be given together with cluster.user, got null'],
  [{ node: 'a', nats: 'n:4222', user: 'u', pass: 'p', token: 't' }, 'options.cluster.token must be not given together with cluster.user and cluster.pass, got "t"'],
  [{ node: 'a', nats: 'n:4222', tls: { certFile: '/c.pem' } }, 'options.cluster.tls must be given certFile and keyFile together, got {"certFile":"/c.pem"}'],
  [{ node: 'a', nats: 'n:4222', tls: { ca: 'x' } }, 'options.cluster.tls.ca is not a known option'],
  [{ node: 'a', nats: 'n:4222', heartbeatInterval: 2000, deadAfter: 3000 }, 'options.cluster.deadAfter must be at least twice options.cluster.heartbeatInterval (4000), got 3000'],
  [{ node: 'a', nats: 'n:4222', heartbeatInterval: 50 }, 'options.cluster.heartbeatInterval must be an integer from 100 to 3600000, got 50'],
  [{ node: 'a', nats: 'n:4222', nodez: ['a'] }, 'options.cluster.nodez is not a known option'],
  [{ node: 'a', nats: 'n:4222', nodes: ['a', 'b.c'] }, 'options.cluster.nodes.1 must be 1 to 64 letters, digits, "_" or "-", got "b.c"'],
])('%j is refused with a dotted name', (value, expected) => {
  expect(message(value)).toBe(expected);
});
