/**
 * Reading the processes of a running Switchyard server from its `/healthz`
 * body (docs/metrics.md): the master, each worker and each service instance
 * with its pid. What arrives is checked, never trusted.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface ServerProcess {
  readonly kind: 'master' | 'worker' | 'service';
  readonly pid: number | undefined;
  readonly state: string;
  /** Services: the service's name. */
  readonly name?: string;
  /** Workers: the worker id. */
  readonly id?: number;
}

export interface HealthSnapshot {
  /** The HTTP status: 200 while every process is up. */
  readonly status: number;
  readonly processes: readonly ServerProcess[];
}

/** A `/healthz` body longer than this is not one. */
const MAX_BODY_BYTES = 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function toProcess(value: unknown): ServerProcess | undefined {
  if (!isRecord(value)) return undefined;
  const { kind, pid, state, name, id } = value;
  if (kind !== 'master' && kind !== 'worker' && kind !== 'service') return undefined;
  return {
    kind,
    pid: Number.isSafeInteger(pid) && (pid as number) > 0 ? (pid as number) : undefined,
    state: typeof state === 'string' ? state : 'unknown',
    ...(typeof name === 'string' ? { name } : {}),
    ...(Number.isSafeInteger(id) ? { id: id as number } : {}),
  };
}

/** Parses a `/healthz` body; throws when it is not one. */
export function parseHealth(status: number, body: string): HealthSnapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`not a Switchyard /healthz body (HTTP ${status}): ${body.slice(0, 80)}`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.processes)) throw new Error(`not a Switchyard /healthz body (HTTP ${status}): no processes`);
  const processes = parsed.processes.map(toProcess).filter((process): process is ServerProcess => process !== undefined);
  return { status, processes };
}

/** GETs `url` (a `/healthz`); rejects on a network error, a timeout or a body that is not a health report. */
export function fetchHealth(url: string, timeoutMs = 2000): Promise<HealthSnapshot> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const request = get(url, { timeout: timeoutMs, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) return void request.destroy(new Error(`${url}: body over ${MAX_BODY_BYTES} bytes`));
        chunks.push(chunk);
      });
      response.on('end', () => {
        try {
          resolve(parseHealth(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error as Error);
        }
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

export function pidsOf(snapshot: HealthSnapshot, kind: ServerProcess['kind'], name?: string): number[] {
  return snapshot.processes
    .filter((process) => process.kind === kind && (name === undefined || process.name === name) && process.pid !== undefined)
    .map((process) => process.pid as number);
}
