/**
 * The `cluster.nodes` trap with real node processes: one config file whose
 * `cluster.nodes` is left to its default (this node plus the placed ones),
 * a service placed on node a, and node b holding no instance. Started after
 * a, b refuses to start (`SY_ERR_NODE_UNLISTED`, naming a and a's list);
 * started before a, b runs, and each node's log says which list lacks which
 * name (a: b is not in its cluster.nodes; b: a does not list it).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FIXTURES } from '../helpers/cluster';
import { describeWithNats, startNatsServer, stopAllNats } from '../helpers/nats-server';
import { startNode, stopNodes, type NodeProcess } from '../helpers/nats-nodes';
import { CLI, spawnScript, stopSpawned, type Spawned } from '../helpers/spawned';

/** The first JSON log line on `cli`'s stdout matching `pattern` (pino writes `msg` after the fields), parsed. */
async function logLine(cli: Spawned, pattern: RegExp): Promise<Record<string, unknown>> {
  return JSON.parse(await cli.line(pattern, 10_000)) as Record<string, unknown>;
}

describeWithNats(__filename)('the cluster.nodes trap', () => {
  let config: string;
  const nodes: NodeProcess[] = [];

  beforeAll(async () => {
    const nats = await startNatsServer();
    const folder = mkdtempSync(path.join(tmpdir(), 'sy-node-list-'));
    config = path.join(folder, 'cluster.json');
    // No cluster.nodes: the default is this node plus the placed ones, so a's list is ["a"] and b's ["a", "b"].
    writeFileSync(
      config,
      JSON.stringify({
        cluster: { node: 'unset', nats: nats.url, name: 'sylist', heartbeatInterval: 200, deadAfter: 1000 },
        services: { watch: { module: path.join(FIXTURES, 'node-watch.ts'), node: 'a' } },
        staticDir: false,
      }),
    );
  });

  afterEach(async () => {
    await stopNodes(nodes.splice(0));
    stopSpawned();
  }, 30_000);

  afterAll(() => stopAllNats());

  test('a node that a running node does not list refuses to start with SY_ERR_NODE_UNLISTED, naming that node and its list', async () => {
    nodes.push(await startNode('a', config));
    const b = spawnScript(CLI, ['start', '--config', config, '--node', 'b', '--port', '0', '--host', '127.0.0.1', '--workers', '1'], { SWITCHYARD_LOG_LEVEL: 'warn' });
    expect(await b.exited).toBe(1);
    const stderr = b.stderr.join('\n');
    expect(stderr).toMatch(/node "a" of cluster "sylist" runs with cluster\.nodes \["a"\], which does not list this node "b"/);
    expect(stderr).toMatch(/a node that holds no instance must be listed too/);
    // The running node never heard b (it listens quietly before it claims anything) and serves on.
    expect(b.stdout.join('\n')).not.toMatch(/listening on/);
  }, 30_000);

  test('started the other way round, each node logs which list lacks which name, and b does not count a as up', async () => {
    const b = await startNode('b', config);
    nodes.push(b);
    const a = await startNode('a', config);
    nodes.push(a);
    const onA = await logLine(a.cli, /"node":"b".*"msg":"NATS heartbeat refused: that node is not in cluster\.nodes/);
    expect(onA).toMatchObject({ clusterNodes: ['a'] });
    const onB = await logLine(b.cli, /"node":"a".*"msg":"NATS heartbeat refused: that node does not list this node in its cluster\.nodes/);
    expect(onB).toMatchObject({ itsClusterNodes: ['a'], thisNode: 'b' });
    const health = (await (await fetch(`http://127.0.0.1:${b.port}/healthz`)).json()) as { nodes?: Array<{ node: string; state: string }> };
    expect(health.nodes).toEqual([expect.objectContaining({ node: 'a', state: 'unknown' })]);
    const refused = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    expect(Number(/^switchyard_nats_refused_total\{reason="heartbeat_refused"\} (\d+)/m.exec(refused)?.[1] ?? 0)).toBeGreaterThan(0);
  }, 40_000);
});
