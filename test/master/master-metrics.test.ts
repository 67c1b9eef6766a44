import { MasterMetrics } from '../../src/master/master-metrics';
import type { ServerStats } from '../../src/master/stats';
import { renderCluster } from '../../src/metrics/process-metrics';
import { parsePrometheus } from '../helpers/prometheus';

const routing = { foreignAddressDrops: 0, goneClientDrops: 0, serviceQueueFull: 0, linkQueueFull: 0, requestsRefused: 0 };

function stats(overrides: Partial<ServerStats>): ServerStats {
  return { state: 'listening', clients: 0, workerRestarts: 0, workers: [], services: [], remoteServices: [], routing, ...overrides };
}

function local(name: string, instance: number, heldMessages: number): ServerStats['services'][number] {
  return { name, instance, pid: 1, state: 'online', restarts: 0, uptimeMs: 1, heldMessages, ipcQueueDepth: 0, ipcDropped: 0 };
}

/** The gauge's series as /metrics renders them (the master's snapshot through the cluster renderer). */
async function heldSamples(current: ServerStats): Promise<Array<[Readonly<Record<string, string>>, number]>> {
  const metrics = new MasterMetrics(() => current);
  try {
    const { body } = await renderCluster([await metrics.snapshot()]);
    return parsePrometheus(body)
      .filter((sample) => sample.name === 'switchyard_held_messages')
      .map(({ labels: { process: _process, ...labels }, value }) => [labels, value]);
  } finally {
    metrics.close();
  }
}

describe('MasterMetrics: switchyard_held_messages', () => {
  test('one series per local instance; `instance` only for a service of several', async () => {
    expect(await heldSamples(stats({ services: [local('echo', 0, 3), local('shard', 0, 1), local('shard', 1, 2)] }))).toEqual([
      [{ service: 'echo' }, 3],
      [{ service: 'shard', instance: '0' }, 1],
      [{ service: 'shard', instance: '1' }, 2],
    ]);
  });

  test('with cluster: what the workers hold for instances on other nodes too, and a service split across nodes names its instances on each', async () => {
    const current = stats({
      services: [local('wb', 0, 4)],
      remoteServices: [
        { name: 'wb', instance: 1, node: 'b', heldMessages: 5 },
        { name: 'ghost', instance: 0, node: 'c', heldMessages: 6 },
      ],
    });
    expect(await heldSamples(current)).toEqual([
      [{ service: 'wb', instance: '0' }, 4],
      [{ service: 'wb', instance: '1' }, 5],
      [{ service: 'ghost' }, 6],
    ]);
  });
});
