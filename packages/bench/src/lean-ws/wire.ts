/**
 * RFC 6455 wire constants shared by the lean client's parser, encoder and
 * socket. Close codes and their validity follow the `ws` package, so a server
 * the bench used to accept is still accepted.
 */

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** Control frames (close, ping, pong) carry at most this many payload bytes and are never fragmented. */
export const MAX_CONTROL_PAYLOAD = 125;

/** Reported when a close frame carried no status code. */
export const CLOSE_NO_STATUS = 1005;
/** Reported when the connection ended without a close frame. */
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_TOO_BIG = 1009;

/** A status code a peer may put in a close frame (1005, 1006 and 1015 only ever describe a close locally). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
