/**
 * `balancing: 'reuse-port'`: each worker listens on a SO_REUSEPORT socket of
 * its own (Node 22.12+/23.1+); `'auto'` (the default) takes it only where the
 * kernel also migrates a closing listener's connections
 * (`net.ipv4.tcp_migrate_req = 1`), `'kernel-fair'` (workers accepting from
 * one shared socket) elsewhere (and always on Node 20). Who holds the port's
 * listening sockets is read from /proc: the master alone (round-robin), the
 * master and every worker, one socket (kernel-fair), or each worker its own
 * and not the master (reuse-port).
 *
 * The Node 24 cases run the CLI on the binary `SWITCHYARD_TEST_NODE24` names
 * (.ci/run downloads it); without it they are skipped, loudly.
 */
import * as fs from 'node:fs';
import { kernelMigratesRequests, listenBalancing, reusePortByDefault } from '../../src/balancing';
import { closeAll, connect, startCluster, type TestClient } from '../helpers/cluster';
import { clientsPerWorker, startBalancedCli, workersOf } from '../helpers/worker-spread';
import { stopSpawned } from '../helpers/spawned';

const ECHO = require.resolve('../../src/services/examples/echo');
const NODE24 = process.env.SWITCHYARD_TEST_NODE24;

afterEach(async () => {
  await closeAll();
  stopSpawned();
});

/** Inodes of the TCP sockets listening on `port` (state 0A in /proc/net/tcp and tcp6). */
function listenerInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A') inodes.add(fields[9] as string);
    }
  }
  return inodes;
}

/** How many of the port's listening sockets process `pid` holds. */
function listenersHeldBy(pid: number, port: number): number {
  const inodes = listenerInodes(port);
  let held = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) held++;
  }
  return held;
}

async function connectMany(port: number, count: number): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  // In batches: a connect storm is not what this checks.
  for (let i = 0; i < count; i += 20) clients.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, () => connect(port, '/echo')))));
  return clients;
}

test(`this runtime (${process.version}): 'auto' is ${listenBalancing('auto')}, and the port's listening sockets are where that mode puts them`, async () => {
  // The CLI in a process of its own: node:cluster fixes its scheduling once per process, and this jest worker's is round-robin.
  const { cli, port, info } = await startBalancedCli('auto', process.execPath);
  expect(info.balancing).toBe(reusePortByDefault() ? 'reuse-port' : 'kernel-fair');
  const workers = await workersOf(port);
  expect(workers).toHaveLength(2);
  if (info.balancing === 'kernel-fair') {
    // One socket shared by all: the master made it and keeps it; each worker accepts from its own copy of the handle.
    expect(listenerInodes(port).size).toBe(1);
    expect(listenersHeldBy(cli.child.pid as number, port)).toBe(1);
    for (const worker of workers) expect(listenersHeldBy(worker.pid, port)).toBe(1);
  } else {
    expect(listenersHeldBy(cli.child.pid as number, port)).toBe(0);
    for (const worker of workers) expect(listenersHeldBy(worker.pid, port)).toBe(1);
  }
  await connectMany(port, 40);
  const counts = await clientsPerWorker(port, 40);
  expect(counts.reduce((a, b) => a + b, 0)).toBe(40);
  for (const count of counts) expect(count).toBeGreaterThan(0);
});

test('round-robin: the master alone holds the listening socket; workers get accepted connections', async () => {
  const { port } = await startCluster({ services: { echo: ECHO }, balancing: 'round-robin' });
  const workers = await workersOf(port);
  expect(listenersHeldBy(process.pid, port)).toBe(1);
  for (const worker of workers) expect(listenersHeldBy(worker.pid, port)).toBe(0);
});

const onNode24 = NODE24 === undefined ? test.skip : test;
if (NODE24 === undefined) process.stderr.write('reuse-port.test.ts: SWITCHYARD_TEST_NODE24 is not set; the Node 24 cases are skipped\n');

onNode24('Node 24: each worker listens on its own SO_REUSEPORT socket (the master on none), and the kernel gives both of them connections', async () => {
  const { port, info } = await startBalancedCli('reuse-port', NODE24 as string);
  expect(info.balancing).toBe('reuse-port');
  const workers = await workersOf(port);
  expect(workers).toHaveLength(2);
  for (const worker of workers) expect(listenersHeldBy(worker.pid, port)).toBe(1);
  expect(listenerInodes(port).size).toBe(2);
  await connectMany(port, 200);
  const counts = await clientsPerWorker(port, 200);
  expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
  // Spread by a hash of each connection's ports: about 100 each (binomial, sd 7); under 40 would be a mode that does not spread.
  for (const count of counts) expect(count).toBeGreaterThan(40);
});

onNode24('Node 24: after a rolling reload the replacement workers hold the sockets and take the connections', async () => {
  const { cli, port } = await startBalancedCli('reuse-port', NODE24 as string);
  const before = new Set((await workersOf(port)).map((w) => w.pid));
  cli.child.kill('SIGHUP');
  await cli.line(/rolling reload done/, 30000);
  const workers = await workersOf(port);
  expect(workers).toHaveLength(2);
  for (const worker of workers) {
    expect(before.has(worker.pid)).toBe(false);
    expect(listenersHeldBy(worker.pid, port)).toBe(1);
  }
  // The old workers' sockets are gone with them: only the replacements' remain.
  expect(listenerInodes(port).size).toBe(2);
  await connectMany(port, 100);
  const counts = await clientsPerWorker(port, 100);
  for (const count of counts) expect(count).toBeGreaterThan(15);
});

onNode24("Node 24: 'auto' takes reuse-port only where the kernel migrates a closing listener's connections (net.ipv4.tcp_migrate_req)", async () => {
  const { info } = await startBalancedCli('auto', NODE24 as string);
  expect(info.balancing).toBe(kernelMigratesRequests() ? 'reuse-port' : 'kernel-fair');
});
