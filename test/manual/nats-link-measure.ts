/**
 * A one-off measurement for the multi-node design (not part of the bench
 * suite): round-trip latency and one-way throughput of the reliable channel
 * over one local nats-server, against plain core NATS publish and a plain
 * Unix-socket line (what a same-node link uses). Both ends live in this one
 * process, for every transport alike.
 *
 *   node -r ts-node/register/transpile-only test/manual/nats-link-measure.ts [frames] [payload bytes]
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { ChannelRouter } from '../../src/nats/channel-router';
import { connectNats, type NatsLink } from '../../src/nats/nats-connection';
import type { ChannelOwner, ReliableChannel } from '../../src/nats/reliable-channel';
import { startNatsServer, stopAllNats } from '../helpers/nats-server';

const FRAMES = Number(process.argv[2] ?? 200_000);
const PAYLOAD = Number(process.argv[3] ?? 100);
const ROUND_TRIPS = 5000;

interface Result {
  readonly transport: string;
  readonly rttP50us: number;
  readonly rttP99us: number;
  readonly framesPerSecond: number;
  readonly cpuMsPerThousand: number;
  /** nats-server's own CPU over the throughput run (0 for the Unix socket). */
  readonly serverCpuMsPerThousand: number;
}

let serverPid = 0;

/** CPU time of the nats-server process so far, in ms (from /proc: clock ticks of 10 ms). */
function serverCpuMs(): number {
  if (serverPid === 0) return 0;
  const fields = fs.readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** A transport under test: `send` one payload from the near end; the far end calls `onFar`, and `reply` sends back. */
interface Pipe {
  send(payload: Buffer): boolean;
  /** Resolves once the near end may send again after a refused send. */
  drained(): Promise<void>;
  onFar: (payload: Uint8Array) => void;
  reply(payload: Buffer): void;
  onNear: (payload: Uint8Array) => void;
  close(): Promise<void>;
}

async function roundTrips(pipe: Pipe): Promise<number[]> {
  const samples: number[] = [];
  const payload = Buffer.alloc(PAYLOAD, 120);
  pipe.onFar = (data) => pipe.reply(Buffer.from(data));
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      pipe.onNear = () => resolve();
      pipe.send(payload);
    });
    samples.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  return samples.sort((x, y) => x - y);
}

async function throughput(pipe: Pipe): Promise<{ framesPerSecond: number; cpuMsPerThousand: number; serverCpuMsPerThousand: number }> {
  const payload = Buffer.alloc(PAYLOAD, 120);
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  pipe.onFar = () => {
    if (++received === FRAMES) done();
  };
  const cpu = process.cpuUsage();
  const serverCpu = serverCpuMs();
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < FRAMES; ) {
    if (pipe.send(payload)) {
      sent++;
      // Let the far end read now and then, as separate processes would.
      if (sent % 1000 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    } else {
      await pipe.drained();
    }
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    framesPerSecond: Math.round(FRAMES / seconds),
    cpuMsPerThousand: (used.user + used.system) / 1000 / (FRAMES / 1000),
    serverCpuMsPerThousand: (serverCpuMs() - serverCpu) / (FRAMES / 1000),
  };
}

class Owner implements ChannelOwner {
  waiting: (() => void) | undefined;
  constructor(private readonly deliver: (payload: Uint8Array) => void) {}
  onFrame(payload: Uint8Array): void {
    this.deliver(payload);
  }
  onReset(reason: string): void {
    throw new Error(`unexpected reset: ${reason}`);
  }
  onDrain(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

async function channelPipe(url: string): Promise<Pipe> {
  const log = pino({ level: 'silent' });
  const links: NatsLink[] = [await connectNats({ servers: [url] }), await connectNats({ servers: [url] })];
  const [linkA, linkB] = links as [NatsLink, NatsLink];
  const routerA = new ChannelRouter(linkA, { cluster: 'measure', node: 'a', nodes: ['a', 'b'] }, log);
  const routerB = new ChannelRouter(linkB, { cluster: 'measure', node: 'b', nodes: ['a', 'b'] }, log);
  await Promise.all([linkA.flush(), linkB.flush()]);
  const pipe: Pipe = {
    send: (payload) => near.send(payload),
    drained: () => new Promise<void>((resolve) => (nearOwner.waiting = resolve)),
    onFar: () => undefined,
    reply: (payload) => void far.send(payload),
    onNear: () => undefined,
    close: async () => {
      routerA.close();
      routerB.close();
      await Promise.all(links.map((link) => link.close()));
    },
  };
  const nearOwner = new Owner((payload) => pipe.onNear(payload));
  const near: ReliableChannel = routerA.open('b', 'measure', nearOwner);
  const far: ReliableChannel = routerB.open('a', 'measure', new Owner((payload) => pipe.onFar(payload)));
  return pipe;
}

async function plainNatsPipe(url: string): Promise<Pipe> {
  const near = await connectNats({ servers: [url] });
  const far = await connectNats({ servers: [url] });
  const pipe: Pipe = {
    send: (payload) => {
      near.publish('measure.plain.far', payload);
      return true;
    },
    drained: () => Promise.resolve(),
    onFar: () => undefined,
    reply: (payload) => far.publish('measure.plain.near', payload),
    onNear: () => undefined,
    close: async () => {
      await Promise.all([near.close(), far.close()]);
    },
  };
  far.subscribe('measure.plain.far', (_subject, data) => pipe.onFar(data));
  near.subscribe('measure.plain.near', (_subject, data) => pipe.onNear(data));
  await Promise.all([near.flush(), far.flush()]);
  return pipe;
}

/** Newline-delimited lines over a Unix socket, as a same-node link writes them. */
async function unixPipe(dir: string): Promise<Pipe> {
  const file = path.join(dir, 'measure.sock');
  let farSocket: net.Socket | undefined;
  const server = net.createServer((socket) => (farSocket = socket));
  await new Promise<void>((resolve) => server.listen(file, resolve));
  const near = net.connect(file);
  await new Promise<void>((resolve) => near.once('connect', resolve));
  while (farSocket === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
  const far = farSocket;
  const pipe: Pipe = {
    send: (payload) => near.write(Buffer.concat([payload, NEWLINE])),
    drained: () => new Promise<void>((resolve) => near.once('drain', resolve)),
    onFar: () => undefined,
    reply: (payload) => void far.write(Buffer.concat([payload, NEWLINE])),
    onNear: () => undefined,
    close: async () => {
      near.destroy();
      far.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  splitLines(far, (line) => pipe.onFar(line));
  splitLines(near, (line) => pipe.onNear(line));
  return pipe;
}

const NEWLINE = Buffer.from('\n');

function splitLines(socket: net.Socket, onLine: (line: Uint8Array) => void): void {
  let rest: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let end = data.indexOf(10);
    while (end >= 0) {
      onLine(data.subarray(0, end));
      data = data.subarray(end + 1);
      end = data.indexOf(10);
    }
    rest = data;
  });
}

async function measure(transport: string, make: () => Promise<Pipe>): Promise<Result> {
  const pipe = await make();
  try {
    const rtt = await roundTrips(pipe);
    const flow = await throughput(pipe);
    return {
      transport,
      rttP50us: Math.round(percentile(rtt, 0.5)),
      rttP99us: Math.round(percentile(rtt, 0.99)),
      framesPerSecond: flow.framesPerSecond,
      cpuMsPerThousand: Number(flow.cpuMsPerThousand.toFixed(2)),
      serverCpuMsPerThousand: transport.startsWith('unix') ? 0 : Number(flow.serverCpuMsPerThousand.toFixed(2)),
    };
  } finally {
    await pipe.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-measure-'));
  const server = await startNatsServer();
  serverPid = server.pid;
  try {
    const results: Result[] = [];
    // Interleaved twice, so that a noisy neighbour on the machine hits every transport alike.
    for (let round = 0; round < 2; round++) {
      results.push(await measure('unix socket line', () => unixPipe(dir)));
      results.push(await measure('core NATS publish (no sequence)', () => plainNatsPipe(server.url)));
      results.push(await measure('reliable channel over NATS', () => channelPipe(server.url)));
    }
    const varz = await server.varz();
    console.table(results);
    console.log(`frames ${FRAMES} of ${PAYLOAD} bytes, ${ROUND_TRIPS} round trips; nats-server in_msgs ${String(varz.in_msgs)}, out_msgs ${String(varz.out_msgs)}`);
  } finally {
    await stopAllNats();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
