import { benchOptions, runBench } from '../../src';
import { closeAll, startCluster } from '../helpers/cluster';

afterEach(closeAll);

test('the echo scenario counts replies against a real cluster, with no errors', async () => {
  // The default rate limit (1,000 msgs/s per client) would close a bench client: off, as in the bench target.
  const { port } = await startCluster({ maxMessagesPerSecond: 0 });
  const result = await runBench(benchOptions({ scenario: 'echo', url: `ws://127.0.0.1:${port}/echo`, connections: 5, inflight: 2, duration: 1, warmup: 0.2 }));
  expect(result.opened).toBe(5);
  expect(result.messages).toBeGreaterThan(0);
  expect(result.latencyUs.count).toBe(result.messages);
  expect(result.errorCount).toBe(0);
  expect(result.closeCodes).toEqual({});
});
