/**
 * Two nodes joined through one nats-server, each a CLI process of its own
 * (`node:cluster` settings are process-wide): a client on node B reaches a
 * service placed on node A over NATS, and clients on both nodes share a chat
 * room. One pair of nodes for the whole file.
 */
import * as path from 'node:path';
import { closeClients, connect } from '../helpers/cluster';
import { describeWithNats, startNatsServer, stopAllNats, type NatsServer } from '../helpers/nats-server';
import { startNode, stopNodes, writeClusterConfig, type NodeProcess } from '../helpers/nats-nodes';
import { CLI, ROOT, spawnScript, stopSpawned } from '../helpers/spawned';

const EXAMPLES = path.join(ROOT, 'src', 'services', 'examples');

describeWithNats(__filename)('nodes joined through NATS', () => {
  let nats: NatsServer;
  let a: NodeProcess;
  let b: NodeProcess;
  let config: string;

  beforeAll(async () => {
    nats = await startNatsServer();
    // Node b holds no instance: it is listed in cluster.nodes so that a accepts it.
    config = writeClusterConfig(nats, { echo: { module: path.join(EXAMPLES, 'echo.ts'), node: 'a' }, chat: { module: path.join(EXAMPLES, 'chat.ts'), node: 'a' } }, ['a', 'b']);
    [a, b] = await Promise.all([startNode('a', config), startNode('b', config)]);
  }, 60_000);

  afterEach(() => closeClients());

  afterAll(async () => {
    await stopNodes([a, b]);
    stopSpawned();
    await stopAllNats();
  }, 30_000);

  test('a client on node B echoes through the service placed on node A', async () => {
    const client = await connect(b.port, '/echo');
    client.socket.send('over nats');
    client.socket.send('and back');
    expect(await client.received(2)).toEqual(['over nats', 'and back']);
    // A node's own client takes the Unix socket, as on one machine.
    const local = await connect(a.port, '/echo');
    local.socket.send('local');
    expect(await local.received(1)).toEqual(['local']);
  });

  test('one chat room with a client on each node: each hears the other', async () => {
    const onA = await connect(a.port, '/chat');
    const onB = await connect(b.port, '/chat');
    for (const [client, name] of [[onA, 'ann'], [onB, 'bob']] as const) {
      await client.json((m) => m.type === 'welcome');
      client.sendJson({ type: 'hello', name });
      await client.json((m) => m.type === 'named');
      client.sendJson({ type: 'join', room: 'lobby' });
      await client.json((m) => m.type === 'joined' || m.type === 'members' || m.room === 'lobby');
    }
    onB.sendJson({ type: 'say', text: 'hi from b' });
    onA.sendJson({ type: 'say', text: 'hi from a' });
    for (const client of [onA, onB]) {
      await client.json((m) => m.type === 'message' && m.text === 'hi from b' && m.from === 'bob');
      await client.json((m) => m.type === 'message' && m.text === 'hi from a' && m.from === 'ann');
    }
  });

  test('a message of the largest size (maxPayload, 1 MiB, as large as the NATS max_payload) crosses both ways, split over frames', async () => {
    const client = await connect(b.port, '/echo');
    const big = 'é'.repeat(512 * 1024);
    client.socket.send(big);
    const binary = Buffer.alloc(1024 * 1024, 7);
    client.socket.send(binary);
    const [text, bytes] = await client.received(2, 20_000);
    expect(text).toBe(big);
    expect(Buffer.isBuffer(bytes) && bytes.equals(binary)).toBe(true);
  }, 30_000);

  test('a second process started under a node name already running refuses to start (SY_ERR_NODE_CONFLICT)', async () => {
    const second = spawnScript(CLI, ['start', '--config', config, '--node', 'a', '--port', '0', '--host', '127.0.0.1', '--workers', '1'], { SWITCHYARD_LOG_LEVEL: 'warn' });
    expect(await second.exited).toBe(1);
    expect(second.stderr.join('\n')).toMatch(/another process already runs as node "a"/);
    // The first one serves on.
    const client = await connect(a.port, '/echo');
    client.socket.send('still here');
    expect(await client.received(1)).toEqual(['still here']);
  }, 30_000);

  test('SIGHUP on each node (a rolling reload; b runs no instance): clients get 1012, reconnect, and reach the reloaded service across nodes', async () => {
    for (const node of [b, a]) {
      const client = await connect(node.port, '/echo');
      client.socket.send('before');
      await client.received(1);
      node.cli.child.kill('SIGHUP');
      expect(await client.closed).toBe(1012);
    }
    const again = await connect(b.port, '/echo');
    again.socket.send('after the reloads');
    expect(await again.received(1, 15_000)).toEqual(['after the reloads']);
  }, 40_000);
});
