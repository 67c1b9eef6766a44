/**
 * The `cluster` option wired into `resolveOptions()`, the CLI and the
 * environment, and the placement of instances on nodes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseCli } from '../src/cli-args';
import { resolveOptions } from '../src/options';
import { optionsFromEnvironment } from '../src/options-env';
import { messageOf } from './helpers/option-errors';

const cwd = '/srv/app';

test('without cluster: false, no placement, and a placement given is ignored (every instance runs here)', () => {
  const options = resolveOptions({ cwd, services: { chat: { module: './chat.js', instances: 2, nodes: ['a', 'b'] }, echo: './echo.js' } });
  expect(options.cluster).toBe(false);
  expect(options.placement).toEqual({});
  expect(options.shards.chat?.instances).toBe(2);
  expect(resolveOptions({ cwd, cluster: false }).cluster).toBe(false);
});

test('with cluster: each instance placed on nodes[i % n]; the nodes default to this one plus every placed one, sorted', () => {
  const options = resolveOptions({
    cwd,
    cluster: { node: 'b', nats: 'nats://127.0.0.1:4222' },
    services: { chat: { module: './chat.js', instances: 3, nodes: ['c', 'a'] }, echo: { module: './echo.js', node: 'a' } },
  });
  expect(options.placement).toEqual({ chat: ['c', 'a', 'c'], echo: ['a'] });
  expect(options.cluster).toMatchObject({ node: 'b', name: 'switchyard', nodes: ['a', 'b', 'c'], heartbeatInterval: 500, deadAfter: 3000 });
  expect(Object.isFrozen(options.placement)).toBe(true);
});

test('cluster.nodes, when given, must name this node and every placed one', () => {
  const services = { echo: { module: './echo.js', node: 'a' } };
  expect(resolveOptions({ cwd, services, cluster: { node: 'b', nats: 'n:4222', nodes: ['b', 'a', 'w'] } }).cluster).toMatchObject({ nodes: ['a', 'b', 'w'] });
  expect(messageOf({ cwd, services, cluster: { node: 'b', nats: 'n:4222', nodes: ['b'] } })).toBe(
    'options.cluster.nodes must be a list naming this node and every node a service is placed on (a is missing), got ["b"]',
  );
});

test.each<[string, unknown, string]>([
  ['a service placed nowhere', { echo: './echo.js' }, 'options.services.echo needs a placement with options.cluster: { "module": …, "node": "<node>" } or "nodes": [ … ]'],
  ['the bundled services (placed nowhere)', undefined, 'options.services.echo needs a placement with options.cluster: { "module": …, "node": "<node>" } or "nodes": [ … ]'],
  ['node and nodes', { echo: { module: './e.js', node: 'a', nodes: ['a'] } }, 'options.services.echo.nodes must be not given together with node, got ["a"]'],
  ['a bad node name', { echo: { module: './e.js', node: 'a.b' } }, 'options.services.echo.node must be a node name (1 to 64 letters, digits, "_" or "-"), got "a.b"'],
  ['an empty nodes', { echo: { module: './e.js', nodes: [] } }, 'options.services.echo.nodes must be a non-empty array of node names, got []'],
  ['a bad entry of nodes', { echo: { module: './e.js', nodes: ['a', 3] } }, 'options.services.echo.nodes.1 must be a node name (1 to 64 letters, digits, "_" or "-"), got 3'],
])('with cluster, %s fails the start', (_, services, message) => {
  expect(messageOf({ cwd, services, cluster: { node: 'a', nats: 'nats://127.0.0.1:4222' } })).toBe(message);
});

test('a bad cluster is named by its dotted path', () => {
  const services = { echo: { module: './e.js', node: 'a' } };
  expect(messageOf({ cwd, services, cluster: { node: 'a' } })).toMatch(/^options\.cluster\.nats must be/);
  expect(messageOf({ cwd, services, cluster: { node: 'a', nats: 'n:1', bogus: 1 } })).toBe('options.cluster.bogus is not a known option');
  expect(messageOf({ cwd, services, cluster: 'yes' })).toMatch(/^options\.cluster must be an object with node and nats/);
});

test('--node, --nats (repeatable, comma lists) and --cluster-name fill options.cluster over the config file\'s', async () => {
  expect(await parseCli(['start', '--node', 'a', '--nats', 'nats://x:4222,nats://y:4222', '--nats', 'z:4222', '--cluster-name', 'prod'], cwd, {})).toMatchObject({
    command: 'start',
    options: { cluster: { node: 'a', nats: ['nats://x:4222', 'nats://y:4222', 'z:4222'], name: 'prod' } },
    origins: { cluster: { from: 'flag', flag: '--node' } },
  });
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-cluster-'));
  const file = path.join(folder, 'cluster.json');
  writeFileSync(file, JSON.stringify({ cluster: { node: 'x', nats: 'nats://10.0.0.5:4222', heartbeatInterval: 200 }, services: { echo: { module: './e.js', node: 'a' } } }));
  // One config file for every node, each started with its own name.
  expect(await parseCli(['start', '--config', file, '--node', 'b'], folder, {})).toMatchObject({
    options: { cluster: { node: 'b', nats: 'nats://10.0.0.5:4222', heartbeatInterval: 200 } },
  });
  await expect(parseCli(['start', '--node', 'a'], cwd, {})).rejects.toMatchObject({ code: 'SY_ERR_INVALID_OPTION', message: "--node and --nats go together (or with the config file's cluster)" });
});

test('SWITCHYARD_CLUSTER is read as JSON', () => {
  expect(optionsFromEnvironment({ SWITCHYARD_CLUSTER: '{"node":"a","nats":"nats://127.0.0.1:4222"}' }).options).toEqual({ cluster: { node: 'a', nats: 'nats://127.0.0.1:4222' } });
});
