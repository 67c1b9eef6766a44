/**
 * The data plane's wire over a stream socket (a Unix socket between a worker
 * and a service, or two instances of a service): each batch is one write, a
 * JSON line and the raw segments of its big payloads (`link-codec.ts`).
 */
import { rmSync } from 'node:fs';
import { Socket, connect, type OnReadOpts, type Server } from 'node:net';
import { MAX_MESSAGE_LENGTH } from '../protocol';
import type { IpcEndpoint } from './batch-queue';
import { LinkDecoder, encodeBatch, type LinkDecoderHooks } from './link-codec';

/**
 * Listens at the Unix socket path `endpoint`, first removing a stale socket
 * file a crashed process may have left there; rejects with the listen error.
 */
export function listenAt(server: Server, endpoint: string): Promise<void> {
  rmSync(endpoint, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(endpoint, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * The longest line a link reader accepts, in bytes: just under V8's string
 * limit (2^29 - 24), so that no legitimate batch is refused and a broken peer
 * cuts its link instead of crashing the reader. Writers keep their lines far
 * shorter (`BatchQueue`'s `maxBatchBytes`; big payloads travel as raw
 * segments beside the line, `link-codec.ts`).
 */
export const MAX_LINE_LENGTH = 2 ** 29 - 1024;

/**
 * The most raw bytes one write may carry by default: a service's largest
 * message (`MAX_MESSAGE_LENGTH` characters, up to 3 UTF-8 bytes each) —
 * batches of several messages stay far below (`BatchQueue`'s
 * `maxBatchBytes`). Readers that know a tighter bound pass it.
 */
export const MAX_RAW_LENGTH = 3 * MAX_MESSAGE_LENGTH;

/** A `BatchQueue` endpoint over a socket: one write per batch (its line, then its raw segments). */
export class SocketEndpoint implements IpcEndpoint {
  constructor(private readonly socket: Socket) {}

  get connected(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    const write = encodeBatch(message as readonly unknown[]);
    const done = (error?: Error | null): void => callback(error ?? null);
    if (typeof write === 'string') return this.socket.write(write, done);
    // One writev for the line and its segments: the segments are written as they are, not copied.
    this.socket.cork();
    const last = write.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(write[i] as Buffer);
    const accepted = this.socket.write(write[last] as Buffer, done);
    this.socket.uncork();
    return accepted;
  }
}

export type LineReaderHooks = LinkDecoderHooks;

/**
 * The most a link socket reads at once, into one buffer it reuses (`onread`).
 * Node's own reads are 64 KiB each, a fresh Buffer and a `'data'` event
 * apiece (16 per MiB); a Unix socket holds up to its sender's send buffer
 * (`net.core.wmem_default`, 208 KiB on Linux), so a read of 256 KiB takes what
 * is queued in one call. One per link end, untouched (not resident) until a
 * big write comes.
 */
export const LINK_READ_BUFFER_SIZE = 256 * 1024;

/** A link decoder whose hooks destroy `socket()` where the stream breaks, and stop once a handler destroyed it. */
function linkDecoder(socket: () => Socket | undefined, maxLineLength: number, hooks: LineReaderHooks, maxRawLength: number): LinkDecoder {
  const decoder: LinkDecoder = new LinkDecoder(
    { maxLineLength, maxRawLength },
    {
      onValue: (value) => {
        if (socket()?.destroyed === true) {
          decoder.stop();
          return;
        }
        hooks.onValue(value);
      },
      onMalformed: hooks.onMalformed,
      onOverflow: (length) => {
        hooks.onOverflow(length);
        socket()?.destroy();
      },
      onBadRaw: (reason) => {
        hooks.onBadRaw(reason);
        socket()?.destroy();
      },
    },
  );
  return decoder;
}

/** A segment's missing part at least this long is read straight into its buffer; a shorter one through the read buffer, with what follows it. */
const IN_PLACE_MIN = 64 * 1024;

/**
 * `onread` for a link socket: each read goes to `decoder` as a transient
 * chunk. Reads land in one reused buffer of `LINK_READ_BUFFER_SIZE`, or —
 * while a big segment is being gathered — straight into the segment's own
 * buffer (Node calls `buffer` after every read for the next one's target), so
 * the kernel's copy is the only one.
 */
function readInto(decoder: LinkDecoder): OnReadOpts {
  const own = Buffer.allocUnsafeSlow(LINK_READ_BUFFER_SIZE);
  return {
    buffer: () => decoder.readTarget(IN_PLACE_MIN) ?? own,
    // True: keep reading (false would stop the handle, as pause() does).
    callback: (length, buffer) => {
      if (!decoder.broken) decoder.push((buffer as Buffer).subarray(0, length), true);
      return true;
    },
  };
}

/**
 * Reads a socket as link writes (`LinkDecoder`): a partial line or segment
 * waits for the rest, up to `maxLineLength` bytes a line and `maxRawLength`
 * raw bytes a write. Past either, or on a bad raw length, the hook reports it
 * and the socket is destroyed (the peer is broken or hostile). Stops reading
 * once a handler destroyed the socket. Reads through `'data'` events; a link
 * socket this process opens or accepts reads into a reused buffer instead
 * (`connectLink`, `acceptLink`).
 */
export function readLines(socket: Socket, maxLineLength: number, hooks: LineReaderHooks, maxRawLength = MAX_RAW_LENGTH): void {
  const decoder = linkDecoder(() => socket, maxLineLength, hooks, maxRawLength);
  socket.on('data', (chunk: Buffer) => {
    if (!decoder.broken) decoder.push(chunk);
  });
}

/** Connects to the link socket at `path`, read as `readLines` reads, into one reused buffer (Node's `onread`). */
export function connectLink(path: string, maxLineLength: number, hooks: LineReaderHooks, maxRawLength = MAX_RAW_LENGTH): Socket {
  let socket: Socket | undefined;
  const decoder = linkDecoder(() => socket, maxLineLength, hooks, maxRawLength);
  socket = connect({ path, onread: readInto(decoder) });
  return socket;
}

/** The parts of an accepted socket `acceptLink` moves to a socket of its own: Node's handle (`_handle`, not public API). */
interface AcceptedSocket {
  _handle: { readonly useUserBuffer?: unknown } | null;
}

/**
 * An accepted link socket, read as `readLines` reads, into one reused buffer:
 * the socket to use from now on. `net.Server` has no `onread` for the sockets
 * it accepts, so the accepted socket's handle moves to a new Socket made with
 * it (as `net.Server` itself makes one, plus `onread`), and the accepted one
 * is destroyed without it. The server must accept with `pauseOnConnect`, so
 * that nothing is read before. Where the runtime's sockets do not look as
 * Node 20–24's do, it reads the accepted socket through `'data'` events.
 */
export function acceptLink(accepted: Socket, maxLineLength: number, hooks: LineReaderHooks, maxRawLength = MAX_RAW_LENGTH): Socket {
  const handle = (accepted as unknown as AcceptedSocket)._handle;
  if (handle === null || typeof handle !== 'object' || typeof handle.useUserBuffer !== 'function') {
    readLines(accepted, maxLineLength, hooks, maxRawLength);
    accepted.resume();
    return accepted;
  }
  let socket: Socket | undefined;
  const decoder = linkDecoder(() => socket, maxLineLength, hooks, maxRawLength);
  (accepted as unknown as AcceptedSocket)._handle = null;
  // Without a handle, destroy only marks it closed and gives the server back its connection count.
  accepted.destroy();
  socket = new Socket({ handle, readable: true, writable: true, onread: readInto(decoder) } as ConstructorParameters<typeof Socket>[0]);
  return socket;
}
