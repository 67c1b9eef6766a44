/**
 * Just enough of the Socket.IO wire protocol (Engine.IO v4 + Socket.IO v5,
 * WebSocket transport only) to load a Socket.IO server with the raw-WebSocket
 * generator:
 *
 *   server → client  0{"sid":…,"pingInterval":…}   Engine.IO open
 *   client → server  40                             connect to namespace "/"
 *   server → client  40{"sid":…}                    connected (44{…}: refused)
 *   either way       42["message",<payload>]        one event named "message"
 *   server → client  2, client → server 3           ping, pong
 *
 * The bench payload travels as a JSON string, so the server hands the
 * event's argument back unchanged and re-serializes it to the same bytes
 * (JSON.stringify of a string is deterministic): the fields stay at fixed
 * offsets, only shifted by the prefix and the escaped quotes before them.
 */
import { encodeStamped, HEADER_BYTES, RAW_LAYOUT, type PayloadLayout } from './payload';

export type Protocol = 'ws' | 'socketio';
export const PROTOCOLS: readonly Protocol[] = ['ws', 'socketio'];

/** Engine.IO protocol revision the generator speaks. */
export const ENGINE_IO_VERSION = '4';
export const DEFAULT_SOCKETIO_PATH = '/socket.io/';
/** The event every bench message is sent and expected as. */
export const EVENT_NAME = 'message';

const EVENT_HEAD = `42["${EVENT_NAME}",`;
const EVENT_TAIL = ']';
const CHAR_0 = 0x30;
const CHAR_2 = 0x32;
const CHAR_4 = 0x34;

/**
 * The WebSocket URL of a Socket.IO server: `/socket.io/` when the URL has no
 * path, and the Engine.IO query (`EIO=4&transport=websocket`) added.
 */
export function socketIoUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = DEFAULT_SOCKETIO_PATH;
  parsed.searchParams.set('EIO', ENGINE_IO_VERSION);
  parsed.searchParams.set('transport', 'websocket');
  return parsed.toString();
}

/** `42["message",<payload as a JSON string>]`: one Socket.IO event frame. */
export function encodeEvent(payload: Buffer): Buffer {
  return Buffer.from(`${EVENT_HEAD}${JSON.stringify(payload.toString('latin1'))}${EVENT_TAIL}`, 'latin1');
}

/** The payload of a `42["message","…"]` frame, fully parsed (tests and checks, not the hot path); undefined for anything else. */
export function decodeEvent(data: Buffer): string | undefined {
  if (!isEvent(data)) return undefined;
  try {
    const parsed: unknown = JSON.parse(data.toString('latin1', 2));
    if (!Array.isArray(parsed) || parsed[0] !== EVENT_NAME || typeof parsed[1] !== 'string') return undefined;
    return parsed[1];
  } catch {
    return undefined;
  }
}

/** A Socket.IO event packet on namespace "/" (`42…`). Two byte compares. */
export function isEvent(data: Buffer): boolean {
  return data[0] === CHAR_4 && data[1] === CHAR_2;
}

/** An Engine.IO ping (`2`), which the client must answer with `3`. */
export function isPing(data: Buffer): boolean {
  return data.length === 1 && data[0] === CHAR_2;
}

export const PONG = '3';

function quotesBefore(text: string, end: number): number {
  let count = 0;
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 0x22) count++;
  return count;
}

/** Field offsets of a bench payload inside `encodeEvent(payload)`. */
function eventLayout(): PayloadLayout {
  const header = encodeStamped(0, false, 0, HEADER_BYTES).toString('latin1');
  // After the head comes the string's opening quote, then the payload with each '"' escaped as '\"'.
  const shift = (offset: number): number => EVENT_HEAD.length + 1 + offset + quotesBefore(header, offset);
  return Object.freeze({
    seq: shift(RAW_LAYOUT.seq),
    end: shift(RAW_LAYOUT.end),
    time: shift(RAW_LAYOUT.time),
    minLength: encodeEvent(Buffer.from(header, 'latin1')).length,
  });
}

export const SOCKETIO_LAYOUT: PayloadLayout = eventLayout();

export function layoutFor(protocol: Protocol): PayloadLayout {
  return protocol === 'socketio' ? SOCKETIO_LAYOUT : RAW_LAYOUT;
}

/** The outgoing frame for a payload under `protocol`. */
export function frameFor(protocol: Protocol, payload: Buffer): Buffer {
  return protocol === 'socketio' ? encodeEvent(payload) : payload;
}

/** Where the client is in the Socket.IO connect handshake. */
export type HandshakeState = 'await-open' | 'await-connect' | 'connected';

export interface HandshakeStep {
  readonly state: HandshakeState;
  /** A text frame to send now. */
  readonly send?: string;
  /** Set when the handshake failed: the reason for the report. */
  readonly error?: string;
}

function connectErrorReason(data: Buffer): string {
  try {
    const body = JSON.parse(data.toString('utf8', 2)) as { message?: unknown };
    return `socket.io connect error: ${typeof body.message === 'string' ? body.message : 'refused'}`;
  } catch {
    return 'socket.io connect error';
  }
}

/** One frame of the handshake: what to send and the next state. Pure, so it is unit-tested. */
export function handshakeStep(state: HandshakeState, data: Buffer): HandshakeStep {
  if (isPing(data)) return { state, send: PONG };
  const type = data[0];
  if (state === 'await-open' && type === CHAR_0) return { state: 'await-connect', send: '40' };
  if (state === 'await-connect' && type === CHAR_4 && data[1] === CHAR_0) return { state: 'connected' };
  if (state === 'await-connect' && type === CHAR_4 && data[1] === CHAR_4) return { state, error: connectErrorReason(data) };
  return { state, error: `unexpected socket.io packet "${data.toString('latin1', 0, Math.min(data.length, 2))}" during handshake` };
}

/** A short name for a stray packet after the handshake, for the error counts. */
export function strayReason(data: Buffer): string {
  if (data.length === 1 && data[0] === 0x31) return 'socket.io: engine closed';
  if (data[0] === CHAR_4 && data[1] === 0x31) return 'socket.io: disconnected by server';
  return `socket.io: unexpected packet "${data.toString('latin1', 0, Math.min(data.length, 2))}"`;
}
