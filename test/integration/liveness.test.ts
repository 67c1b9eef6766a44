/**
 * Issue 11, item 6: health needs liveness, not only process state. A service
 * that is SIGSTOPped, or whose handler hangs while events wait, still has a
 * running process: `/healthz` stays 200 (processes up), `/readyz` must say 503
 * and name the service and why.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { closeAll, connect, startCluster, FIXTURES } from '../helpers/cluster';

afterEach(closeAll);

const ECHO = path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts');
const LIVENESS_TIMEOUT = 1000;

interface ServiceEntry {
  readonly kind: string;
  readonly name?: string;
  readonly live?: boolean;
  readonly reason?: string;
}

interface Answer {
  readonly status: number;
  readonly body: { readonly status: string; readonly processes: readonly ServiceEntry[] };
}

async function get(port: number, route: string): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Answer['body'] };
}

/** Asks `route` until it answers `status` (the master's view changes with pings and status reports, which fire no event here). */
async function until(port: number, route: string, status: number, timeoutMs: number): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await get(port, route);
    if (answer.status === status) return answer;
    if (Date.now() > deadline) throw new Error(`${route} still answers ${answer.status} after ${timeoutMs} ms: ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The socket folder of the cluster this test process runs (one at a time here): named after its master, this process. */
function socketDir(): string {
  const prefix = `switchyard-${process.pid}-`;
  const found = fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(prefix));
  expect(found).toHaveLength(1);
  return path.join(os.tmpdir(), found[0] as string);
}

function serviceEntry(answer: Answer, name: string): ServiceEntry | undefined {
  return answer.body.processes.find((entry) => entry.kind === 'service' && entry.name === name);
}

describe('liveness: /readyz', () => {
  test('a SIGSTOPped service makes /readyz 503 naming it within livenessTimeout, and 200 again after SIGCONT; /healthz stays 200', async () => {
    const { server, port } = await startCluster({ workers: 1, services: { echo: ECHO, other: ECHO }, livenessTimeout: LIVENESS_TIMEOUT, stopTimeout: 1000 });
    expect((await until(port, '/readyz', 200, 2000)).body.status).toBe('ok');
    const pid = server.stats().services.find((service) => service.name === 'echo')?.pid as number;
    const stoppedAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    try {
      const degraded = await until(port, '/readyz', 503, LIVENESS_TIMEOUT * 3);
      expect(Date.now() - stoppedAt).toBeLessThan(LIVENESS_TIMEOUT * 3);
      expect(degraded.body.status).toBe('degraded');
      const echo = serviceEntry(degraded, 'echo');
      expect(echo?.live).toBe(false);
      expect(echo?.reason).toMatch(/ping/);
      expect(serviceEntry(degraded, 'other')?.live).toBe(true);
      // Every process is up: the liveness endpoint says so, with the same body.
      const health = await get(port, '/healthz');
      expect(health.status).toBe(200);
      expect(serviceEntry(health, 'echo')?.live).toBe(false);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const ready = await until(port, '/readyz', 200, LIVENESS_TIMEOUT * 3);
    expect(serviceEntry(ready, 'echo')?.live).toBe(true);
  }, 15_000);

  test('a handler that never settles while events wait makes /readyz 503 with a reason about acknowledgements', async () => {
    const { port } = await startCluster({ workers: 1, services: { hung: path.join(FIXTURES, 'hung-handler.ts') }, livenessTimeout: LIVENESS_TIMEOUT, stopTimeout: 1000 });
    await until(port, '/readyz', 200, 2000);
    const client = await connect(port, '/hung');
    client.socket.send('hang');
    client.socket.send('after');
    const degraded = await until(port, '/readyz', 503, LIVENESS_TIMEOUT * 3);
    const hung = serviceEntry(degraded, 'hung');
    expect(hung?.live).toBe(false);
    expect(hung?.reason).toMatch(/acknowledg/);
    // The process answers pings and is up: only readiness is lost.
    expect((await get(port, '/healthz')).status).toBe(200);
  }, 15_000);

  test('a worker whose link to a running service is refused makes /readyz 503 naming the worker, and lists it in linksDown', async () => {
    const { server, port } = await startCluster({ workers: 1, services: { echo: ECHO }, livenessTimeout: LIVENESS_TIMEOUT, stopTimeout: 1000, restartDelay: 10 });
    await until(port, '/readyz', 200, 2000);
    // Without its socket path the service keeps the links it has, but every new one is refused (ENOENT).
    const dir = socketDir();
    for (const file of fs.readdirSync(dir)) if (file.endsWith('.sock')) fs.rmSync(path.join(dir, file));
    const replaced = new Promise<{ workerId: number }>((resolve) => server.once('workerOnline', resolve));
    process.kill(server.stats().workers[0]?.pid as number, 'SIGKILL');
    const { workerId } = await replaced;
    const degraded = await until(port, '/readyz', 503, LIVENESS_TIMEOUT * 3);
    expect(serviceEntry(degraded, 'echo')?.reason).toMatch(new RegExp(`worker ${workerId}'s link to it has not been up`));
    const worker = degraded.body.processes.find((entry) => entry.kind === 'worker') as ServiceEntry & { readonly id: number; readonly linksDown: readonly string[] };
    expect(worker.id).toBe(workerId);
    expect(worker.linksDown).toEqual(['echo']);
    // Every process is up.
    expect((await until(port, '/healthz', 200, 2000)).status).toBe(200);
  }, 15_000);
});
