/**
 * A WebSocket stand-in for the client's unit tests: the test plays the
 * server (open, message, close, refuse) and reads what the client sent.
 */
import type { SocketEvent, WebSocketLike } from '../../src/client';

export class FakeSocket implements WebSocketLike {
  static readonly instances: FakeSocket[] = [];

  /** The last socket made; throws when none was. */
  static last(): FakeSocket {
    const socket = FakeSocket.instances[FakeSocket.instances.length - 1];
    if (socket === undefined) throw new Error('no socket was opened');
    return socket;
  }

  static reset(): void {
    FakeSocket.instances.length = 0;
  }

  readyState = 0;
  binaryType = 'blob';
  onopen: ((event: SocketEvent) => void) | null = null;
  onmessage: ((event: SocketEvent) => void) | null = null;
  onclose: ((event: SocketEvent) => void) | null = null;
  onerror: ((event: SocketEvent) => void) | null = null;
  readonly sent: unknown[] = [];
  /** What the client passed to close(), if it did. */
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.instances.push(this);
  }

  send(data: never): void {
    if (this.readyState !== 1) throw new Error(`send in readyState ${this.readyState}`);
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  /** Sent frames parsed as JSON. */
  sentJson(): unknown[] {
    return this.sent.map((frame) => JSON.parse(frame as string) as unknown);
  }

  // ---- the server's side ----

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  message(data: string | ArrayBuffer): void {
    this.onmessage?.({ data });
  }

  /** The server closes (or the connection drops: 1006). */
  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }
}

type UpgradeListener = (request: unknown, response: { statusCode: number; headers: Record<string, string>; resume(): void }) => void;

/** A fake with what `ws` adds: 'unexpected-response' for a refused upgrade, and terminate(). */
export class FakeWsSocket extends FakeSocket {
  private upgradeListener: UpgradeListener | undefined;
  terminated = false;

  on(event: string, listener: UpgradeListener): this {
    if (event === 'unexpected-response') this.upgradeListener = listener;
    return this;
  }

  terminate(): void {
    this.terminated = true;
    this.serverClose(1006);
  }

  /** The server answers the upgrade with an HTTP status instead of 101. */
  refuse(statusCode: number, headers: Record<string, string> = {}): void {
    this.upgradeListener?.({}, { statusCode, headers, resume: () => undefined });
  }
}
