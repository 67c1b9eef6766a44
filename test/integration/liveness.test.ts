/**
 * Issue 11, item 6: health needs liveness, not only process state. A service
 * that is SIGSTOPped, or whose handler hangs while events wait, still has a
 * running process: `/healthz` stays 200 (processes up), `/readyz` must say 503
 * and name the service and why.
 */
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
});
