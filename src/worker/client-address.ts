/**
 * A request's client address: the TCP peer's, or, behind proxies named in
 * `trustProxy`, the address they forwarded. What services see
 * (`client.remoteAddress`), what the per-address limits count and what the
 * log lines name all come from here.
 *
 * The chain is the peer, then the forwarded addresses from the nearest hop
 * outwards (`X-Forwarded-For` read from its right end, or the `for=` of each
 * `Forwarded` element); the client is the first address of that chain that
 * is not a trusted proxy, as proxy-addr (and Express's `trust proxy`) decide
 * it. A hop that is not an IP address (`unknown`, an obfuscated name, junk a
 * client put there) ends the chain at the last address before it: a client
 * can never make itself an arbitrary string.
 *
 * Without `trustProxy` the peer address is used, no header is read, and
 * proxy-addr is not even loaded.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
// Only the type: the module is required where a proxy is trusted, so the default path never loads it.
import type ProxyAddr from 'proxy-addr';
import type { ForwardedHeader } from '../options-spec';
import { proxiedAddressOf } from './front-server';

export type AddressOf = (request: IncomingMessage) => string;

/** The TCP peer's address: the default, with no proxy trusted. */
export function peerAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? '';
}

/** With `proxyProtocol`: the address the connection's PROXY header gave, else (a LOCAL header) the TCP peer's. */
export function proxiedPeerAddress(request: IncomingMessage): string {
  return proxiedAddressOf(request.socket) ?? request.socket.remoteAddress ?? '';
}

type TrustFunction = (address: string, hop: number) => boolean;

/**
 * How one worker finds its clients' addresses: `trust` lists the proxies
 * (addresses, CIDR ranges, or proxy-addr's `loopback`, `linklocal`,
 * `uniquelocal`), or is null to trust none.
 */
export function addressResolver(trust: readonly string[] | null, header: ForwardedHeader, proxyProtocol = false): AddressOf {
  const peer = proxyProtocol ? proxiedPeerAddress : peerAddress;
  if (trust === null) return peer;
  // Loaded only when a proxy is trusted: the default path costs not even a require.
  const proxyaddr = require('proxy-addr') as typeof ProxyAddr;
  const trusted: TrustFunction = proxyaddr.compile([...trust]);
  switch (header) {
    case 'x-forwarded-for':
      return (request) => clientOf([peer(request), ...xForwardedFor(request.headers['x-forwarded-for']).reverse()], trusted);
    case 'forwarded':
      return (request) => clientOf([peer(request), ...forwardedFor(request.headers.forwarded).reverse()], trusted);
    default: {
      const unknown: never = header;
      throw new Error(`unknown forwarded header ${String(unknown)}`);
    }
  }
}

/** The addresses of an `X-Forwarded-For` header, in header order (the client's first, the nearest proxy's last). */
export function xForwardedFor(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/** The first address of `chain` (peer first) that is not trusted, or the last before a hop that is not an IP address. */
export function clientOf(chain: readonly string[], trusted: TrustFunction): string {
  let client = chain[0] ?? '';
  for (let hop = 1; hop < chain.length; hop++) {
    // The address at `hop - 1` is the one that told us about `hop`: only a trusted one is believed.
    if (!trusted(client, hop - 1)) return client;
    const next = chain[hop] as string;
    if (isIP(next) === 0) return client;
    client = next;
  }
  return client;
}

/**
 * The `for=` addresses of a `Forwarded` header (RFC 7239), in header order,
 * without quotes, brackets or ports: `for=192.0.2.60;proto=http,
 * for="[2001:db8::17]:4711"` gives `192.0.2.60`, `2001:db8::17`. An element
 * without `for=` gives an empty string (not an address: the chain ends
 * there).
 */
export function forwardedFor(header: string | undefined): string[] {
  if (header === undefined || header === '') return [];
  const addresses: string[] = [];
  for (const element of splitOutsideQuotes(header, ',')) {
    let address = '';
    for (const pair of splitOutsideQuotes(element, ';')) {
      const equals = pair.indexOf('=');
      if (equals === -1 || pair.slice(0, equals).trim().toLowerCase() !== 'for') continue;
      address = nodeAddress(unquote(pair.slice(equals + 1).trim()));
    }
    addresses.push(address);
  }
  return addresses;
}

/** `"[2001:db8::17]:4711"` → `2001:db8::17`, `192.0.2.1:80` → `192.0.2.1`; anything else as it is. */
function nodeAddress(node: string): string {
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    return close === -1 ? node : node.slice(1, close);
  }
  const colon = node.indexOf(':');
  // One colon: IPv4 with a port; more would be a bare IPv6 address, which RFC 7239 requires in brackets.
  return colon !== -1 && colon === node.lastIndexOf(':') ? node.slice(0, colon) : node;
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** Splits on `separator` where it is not inside a quoted string. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && quoted) i++;
    else if (char === '"') quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
