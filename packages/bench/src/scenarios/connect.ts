/**
 * connect: opens the shard's connections (paced by its share of `rate`, or as
 * fast as pending handshakes allow), holds them `hold` seconds, then closes
 * them. Closes seen during the hold are failures too.
 */
import { closeAll, onFrames, openMany } from '../connections';
import { cpuMicrosSince, sleep, type ShardControl } from '../control';
import type { BenchOptions } from '../options';
import type { Counts, ShardResult } from '../result';
import type { Shard } from '../source-address';

export async function runConnect(options: BenchOptions, shard: Shard, control: ShardControl): Promise<ShardResult> {
  await control.ready();
  const cpuStart = process.cpuUsage();
  const rate = options.rate === 0 ? 0 : (options.rate * shard.count) / options.connections;
  const opened = await openMany(options, shard, rate, (count) => {
    if (count % 250 === 0) control.progress(count);
  });
  const cpuMicros = cpuMicrosSince(cpuStart);
  control.progress(opened.sockets.length);
  const errors: Counts = { ...opened.errors };
  const closeCodes: Counts = {};
  let holding = true;
  const stray = (reason: string): void => {
    errors[reason] = (errors[reason] ?? 0) + 1;
  };
  for (const socket of opened.sockets) {
    // A held Socket.IO connection must answer the server's pings, or it is dropped after pingInterval + pingTimeout.
    if (options.protocol === 'socketio') onFrames(socket, 'socketio', () => undefined, stray);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code ?? error.message;
      errors[reason] = (errors[reason] ?? 0) + 1;
    });
    socket.on('close', (code: number) => {
      if (!holding) return;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      errors[`closed ${code} while held`] = (errors[`closed ${code} while held`] ?? 0) + 1;
    });
  }
  control.held();
  await sleep(options.hold * 1000);
  holding = false;
  await closeAll(opened.sockets, 5000);
  return {
    scenario: 'connect',
    connections: shard.count,
    opened: opened.sockets.length,
    messages: opened.sockets.length,
    sent: 0,
    windowMs: opened.elapsedMs,
    connectMs: opened.elapsedMs,
    missed: 0,
    published: 0,
    withoutEnd: 0,
    lastSeqSumWithoutEnd: 0,
    errors,
    closeCodes,
    cpuMicros,
    histogram: '',
  };
}
