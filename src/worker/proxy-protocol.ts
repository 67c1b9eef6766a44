/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a TCP
 * load balancer puts in front of a connection to say whom it comes from.
 * Pure parsing: front-server.ts reads a connection's first bytes through it
 * when `proxyProtocol` is on (and then every connection must start with one:
 * a header that is optional could be sent by anyone); when it is off nothing
 * here runs, and a `PROXY …` line is just a bad HTTP request (400).
 */
import { isIP } from 'node:net';

/** The 12 bytes a version 2 header starts with. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest version 1 line, CRLF included (the spec's 107). */
export const V1_MAX_LENGTH = 107;
/** The longest version 2 header accepted: addresses plus TLVs (a load balancer's ids, TLS details) fit well within. */
export const V2_MAX_LENGTH = 16 + 4096;

export type ProxyHeader =
  /** More bytes are needed to decide. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  /** A header of `length` bytes; `address` is the original client's, or undefined when the sender gave none (LOCAL, UNKNOWN, not TCP/UDP over IP). */
  | { readonly kind: 'header'; readonly length: number; readonly address: string | undefined };

const INCOMPLETE: ProxyHeader = Object.freeze({ kind: 'incomplete' });

function invalid(reason: string): ProxyHeader {
  return { kind: 'invalid', reason };
}

/** Reads a PROXY header at the start of `data` (what a connection has sent so far). */
export function parseProxyHeader(data: Buffer): ProxyHeader {
  if (startsLike(data, V2_SIGNATURE)) return data.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(data);
  if (startsLike(data, V1_PREFIX)) return data.length < V1_PREFIX.length ? INCOMPLETE : parseV1(data);
  return invalid('no PROXY protocol header');
}

/** Whether `data` is a prefix of `expected` or starts with it. */
function startsLike(data: Buffer, expected: Buffer): boolean {
  const length = Math.min(data.length, expected.length);
  return data.subarray(0, length).equals(expected.subarray(0, length));
}

function parseV1(data: Buffer): ProxyHeader {
  const end = data.indexOf('\r\n', 0, 'latin1');
  if (end === -1) return data.length >= V1_MAX_LENGTH ? invalid('PROXY v1 line too long') : INCOMPLETE;
  if (end + 2 > V1_MAX_LENGTH) return invalid('PROXY v1 line too long');
  const fields = data.toString('latin1', 0, end).split(' ');
  const [, family, source, destination, sourcePort, destinationPort] = fields;
  const length = end + 2;
  if (family === 'UNKNOWN') return { kind: 'header', length, address: undefined };
  if (fields.length !== 6 || (family !== 'TCP4' && family !== 'TCP6')) return invalid('malformed PROXY v1 line');
  const version = family === 'TCP4' ? 4 : 6;
  if (isIP(source ?? '') !== version || isIP(destination ?? '') !== version || !isPort(sourcePort) || !isPort(destinationPort)) {
    return invalid('malformed PROXY v1 addresses');
  }
  return { kind: 'header', length, address: source };
}

function isPort(text: string | undefined): boolean {
  return text !== undefined && /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535;
}

function parseV2(data: Buffer): ProxyHeader {
  if (data.length < 16) return INCOMPLETE;
  const versionCommand = data[12] as number;
  if (versionCommand >> 4 !== 2) return invalid('PROXY v2 header of an unknown version');
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid('PROXY v2 header with an unknown command');
  const addressLength = data.readUInt16BE(14);
  const length = 16 + addressLength;
  if (length > V2_MAX_LENGTH) return invalid('PROXY v2 header too long');
  if (data.length < length) return INCOMPLETE;
  // LOCAL: the balancer's own connection (a health check): its own address stands.
  if (command === 0) return { kind: 'header', length, address: undefined };
  const family = (data[13] as number) >> 4;
  switch (family) {
    case 0x1:
      if (addressLength < 12) return invalid('PROXY v2 IPv4 addresses truncated');
      return { kind: 'header', length, address: `${data[16]}.${data[17]}.${data[18]}.${data[19]}` };
    case 0x2: {
      if (addressLength < 36) return invalid('PROXY v2 IPv6 addresses truncated');
      const groups: string[] = [];
      for (let i = 0; i < 8; i++) groups.push(data.readUInt16BE(16 + i * 2).toString(16));
      return { kind: 'header', length, address: compressIpv6(groups) };
    }
    default:
      // AF_UNSPEC or AF_UNIX: no IP address to give.
      return { kind: 'header', length, address: undefined };
  }
}

/** The usual text form (RFC 5952): the longest run of zero groups as `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`. */
function compressIpv6(groups: readonly string[]): string {
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const high = parseInt(groups[6] as string, 16);
    const low = parseInt(groups[7] as string, 16);
    return `::ffff:${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}
