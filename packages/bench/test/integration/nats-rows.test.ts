/**
 * The `--nats` rows' pieces against real processes: one nats-server and the
 * suite's two-node rig (node a with the services, node b workers only). The
 * NATS message count at the server follows the remote workers holding
 * subscribers, not the subscribers; the generator's `spread` puts fan-out
 * subscribers on both nodes and every one gets every publish. One rig for
 * the file.
 */
import { benchOptions, runBench } from '../../src';
import { countCase, delta, snapshot } from '../../suite/nats/nats-count';
import { BENCH_CLUSTER_NAME, NatsRig } from '../../suite/nats/nats-rig';
import { natsServerPath, startNatsServer, type NatsServer } from '../../suite/nats/nats-server';

const binary = natsServerPath();
if (binary === undefined) console.warn(`SKIPPED: ${__filename} needs nats-server on PATH (apt-get install nats-server), which is missing.`);
const describeWithNats = binary === undefined ? describe.skip : describe;

describeWithNats('the --nats rows on a real two-node rig', () => {
  let server: NatsServer;
  let rig: NatsRig;

  beforeAll(async () => {
    server = await startNatsServer(binary as string);
    rig = await NatsRig.start([server], () => [server.url]);
  }, 60_000);

  afterAll(async () => {
    await rig?.stopNodes();
    await server?.stop();
  }, 30_000);

  test('NATS messages per publish, at the server: 0 with no subscriber on b, 1 with one or 30 there', async () => {
    const cases = [{ onA: 5, onB: 0 }, { onA: 0, onB: 1 }, { onA: 5, onB: 30 }];
    const results = [];
    for (const which of cases) results.push(await countCase(rig.url('a', '/fanout'), rig.url('b', '/fanout'), server.monitorUrl, BENCH_CLUSTER_NAME, which, 20));
    expect(results.map((r) => [r.toWorkers, r.fromServices, r.expected])).toEqual([[0, 0, 0], [20, 20, 1], [20, 20, 1]]);
    // What the server delivered in all is the parts told apart (no connection came or went during a case).
    for (const r of results) expect(r.delivered).toBe(r.heartbeats + r.acks + r.toWorkers);
  }, 30_000);

  test('fan-out with subscribers spread over both nodes: every subscriber gets every publish; CPU and RSS cover both nodes and nats-server', async () => {
    const cpuBefore = rig.cpuSeconds();
    const before = await snapshot(server.monitorUrl, BENCH_CLUSTER_NAME);
    const result = await runBench(benchOptions({ scenario: 'fanout', url: rig.url('a', '/fanout'), spread: [rig.url('a', '/fanout'), rig.url('b', '/fanout')], connections: 40, duration: 1, warmup: 0.2 }));
    expect(result.opened).toBe(40);
    expect(result.published).toBeGreaterThan(0);
    expect(result.missed).toBe(0);
    expect(result.errors).toEqual({});
    // Half the subscribers were on node b: publishes crossed to its worker (with none there, none would: above).
    const after = await snapshot(server.monitorUrl, BENCH_CLUSTER_NAME);
    expect(delta(before, after).toWorkers).toBeGreaterThan(0);
    expect(rig.cpuSeconds()).toBeGreaterThan(cpuBefore);
    expect(rig.rssBytes()).toBeGreaterThan(3 * 10 * 1024 * 1024);
  }, 30_000);
});
