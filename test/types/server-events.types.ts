/**
 * Compile-time tests of `server.on()` (tsc over test/ checks them): only the
 * names of `ServerEvents`, with their listener arguments, compile.
 */
import { once } from 'node:events';
import { createServer, type ReadyInfo } from '../../src/index';

const server = createServer({ port: 0 });

server.on('ready', (info: ReadyInfo) => info.port);
server.once('serviceExit', (info) => info.service.length + info.instance);
server.on('reload', () => undefined);
server.off('close', () => undefined);
export const ready: Promise<unknown[]> = once(server, 'ready');

// @ts-expect-error a misspelt event name does not compile
server.on('redy', () => undefined);
// @ts-expect-error nor with once, off or prependListener
server.once('workerExited', () => undefined);
// @ts-expect-error the listener's argument is the event's
server.on('workerOnline', (info: { readonly name: string }) => info.name);
// @ts-expect-error reload has no argument
server.on('reload', (info: ReadyInfo) => info.port);
// @ts-expect-error emit takes the event's arguments too
server.emit('ready');
// @ts-expect-error compiled before these overrides (Node's typings check only on/once/emit)
server.listenerCount('redy');
// @ts-expect-error compiled before, as listenerCount did
server.removeAllListeners('redy');
server.removeAllListeners();
