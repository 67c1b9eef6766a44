import { delta, parseSnapshot, roleOf, type NatsSnapshot } from '../../suite/nats/nats-count';

const CLUSTER = 'sybench';

test('a connection is known by its subscription: master (heartbeats), worker, service instance, or other', () => {
  expect(roleOf(['sybench.nodes.*'], CLUSTER)).toBe('master');
  expect(roleOf(['sybench.link.b.w1.>'], CLUSTER)).toBe('worker');
  expect(roleOf(['sybench.link.a.fanout-0.>'], CLUSTER)).toBe('service');
  expect(roleOf(['sybench.link.a.w-x.>'], CLUSTER)).toBe('service');
  expect(roleOf([], CLUSTER)).toBe('other');
  expect(roleOf(['other.link.b.w1.>'], CLUSTER)).toBe('other');
  // A cluster name is matched literally, not as a pattern.
  expect(roleOf(['syXbench.link.b.w1.>'], 'sy.bench')).toBe('other');
});

/** /varz and /connz bodies as nats-server 2.9 writes them (fields trimmed). */
function bodies(counts: { hbA: number; hbB: number; worker: number; service: number; acks: number; fromService: number }, extra: unknown[] = []): [Record<string, unknown>, Record<string, unknown>] {
  const connections = [
    { cid: 5, in_msgs: 100, out_msgs: counts.hbB, subscriptions_list: ['sybench.nodes.*'] },
    { cid: 6, in_msgs: 100, out_msgs: counts.hbA, subscriptions_list: ['sybench.nodes.*'] },
    { cid: 7, in_msgs: counts.acks, out_msgs: counts.worker, subscriptions_list: ['sybench.link.b.w1.>'] },
    { cid: 8, in_msgs: counts.fromService, out_msgs: counts.acks, subscriptions_list: ['sybench.link.a.fanout-0.>'] },
    ...extra,
  ];
  const out = counts.hbA + counts.hbB + counts.worker + counts.acks;
  return [{ in_msgs: 200 + counts.acks + counts.fromService, out_msgs: out, server_id: 'x' }, { num_connections: connections.length, connections }];
}

test('parseSnapshot reads the totals and every connection; what is malformed counts 0 or is left out', () => {
  const [varz, connz] = bodies({ hbA: 10, hbB: 11, worker: 3, service: 0, acks: 2, fromService: 3 }, [null, 'x', { cid: 9, in_msgs: 'many' }]);
  const snap = parseSnapshot(varz, connz, CLUSTER);
  expect(snap.inMsgs).toBe(205);
  expect(snap.outMsgs).toBe(26);
  expect(snap.connections.map((c) => [c.cid, c.role])).toEqual([[5, 'master'], [6, 'master'], [7, 'worker'], [8, 'service'], [9, 'other']]);
  expect(snap.connections[4]).toEqual({ cid: 9, role: 'other', inMsgs: 0, outMsgs: 0 });
  expect(parseSnapshot({}, {}, CLUSTER)).toEqual({ inMsgs: 0, outMsgs: 0, connections: [] });
});

test('delta splits what the server delivered: heartbeats to masters, acks to services, the publishes to workers', () => {
  const before: NatsSnapshot = parseSnapshot(...bodies({ hbA: 10, hbB: 10, worker: 50, service: 0, acks: 5, fromService: 50 }), CLUSTER);
  // 100 publishes: 100 frames to the worker, 4 acks back, 3 heartbeats each way; and a connection that came meanwhile.
  const after: NatsSnapshot = parseSnapshot(...bodies({ hbA: 13, hbB: 13, worker: 150, service: 0, acks: 9, fromService: 150 }, [{ cid: 99, in_msgs: 7, out_msgs: 7, subscriptions_list: ['sybench.link.b.w2.>'] }]), CLUSTER);
  expect(delta(before, after)).toEqual({ delivered: 110, published: 104, heartbeats: 6, acks: 4, toWorkers: 100, fromServices: 100 });
});
