import * as path from 'node:path';
import { benchOptions, runBench } from '../../src';
import { closeAll, startCluster } from '../helpers/cluster';

const FANOUT_SERVICE = path.join(__dirname, '..', '..', 'suite', 'services', 'fanout-service.ts');

afterEach(closeAll);

test('fanout through the lean client: every subscriber counts every delivery, pings answered, no errors', async () => {
  // Rate limit off (the publisher exceeds it), and heartbeats every second (the least allowed): a ping left
  // unanswered would cost the client its connection at the second sweep, 2 s in, inside the 2.5 s run.
  const { port } = await startCluster({ maxMessagesPerSecond: 0, heartbeatInterval: 1000, services: { fanout: FANOUT_SERVICE } });
  const result = await runBench(benchOptions({ scenario: 'fanout', url: `ws://127.0.0.1:${port}/fanout`, connections: 50, duration: 2.3, warmup: 0.2 }));
  expect(result.opened).toBe(50);
  expect(result.published).toBeGreaterThan(0);
  expect(result.messages).toBeGreaterThan(0);
  expect(result.missed).toBe(0);
  expect(result.latencyUs.count).toBe(result.messages);
  expect(result.errors).toEqual({});
  expect(result.closeCodes).toEqual({});
});
