/**
 * The options of what the port serves and whom it trusts: the host, the ops
 * port and host, the health/metrics/ready paths, allowed and CORS origins,
 * `tls` file paths, `trustProxy` and the forwarded headers.
 */
import * as path from 'node:path';
import { SwitchyardError } from './errors';
import { invalid, isOrigin } from './options-check';
import { DEFAULT_ALLOWED_ORIGINS, DEFAULT_FORWARD_HEADERS, DEFAULT_HOST, SERVICE_HTTP_PREFIX } from './options-defaults';
import { OPTION_SPECS, type TlsOptions } from './options-spec';
// Only the type: the module is required where a proxy is trusted, so the default path never loads it.
import type ProxyAddr from 'proxy-addr';

/** `healthPath`, `metricsPath`, `readyPath`: false or a path, not below the services' prefix; `fallback` when not given. */
export function endpointPath(name: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(value) || value.startsWith(SERVICE_HTTP_PREFIX)) {
    throw invalid(name, `false or a path starting with "/" (not below ${SERVICE_HTTP_PREFIX})`, value);
  }
  return value;
}

/** `allowedOrigins`: `"*"` (the default) or a non-empty list of origins. */
export function resolveAllowedOrigins(value: unknown): '*' | readonly string[] {
  if (value === undefined || value === '*') return DEFAULT_ALLOWED_ORIGINS;
  // An empty list would refuse every upgrade: more likely a mistake than a wish.
  if (!Array.isArray(value) || value.length === 0) throw invalid('allowedOrigins', '"*" or a non-empty array of origins', value);
  value.forEach((origin: unknown, index) => {
    if (!isOrigin(origin)) throw invalid(`allowedOrigins.${index}`, 'an origin like "https://example.com" (scheme, host, optional port; no path)', origin);
  });
  return Object.freeze([...(value as string[])]);
}

const TLS_KEYS: ReadonlySet<string> = new Set(['cert', 'key', 'ca', 'passphrase']);

/** `tls`: the file paths made absolute against `cwd` (the files themselves are read by the master at start, see tls-material.ts). */
export function resolveTls(value: unknown, cwd: string): TlsOptions | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('tls', 'false or an object { cert, key, ca?, passphrase? }', value);
  const given = value as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(given)) if (!TLS_KEYS.has(key)) throw new SwitchyardError('SY_ERR_INVALID_OPTION', `options.tls.${key} is not a known option`);
  const file = (name: 'cert' | 'key' | 'ca'): string | undefined => {
    const file = given[name];
    if (file === undefined && name === 'ca') return undefined;
    if (typeof file !== 'string' || file.length === 0) throw invalid(`tls.${name}`, 'a PEM file path', file);
    return path.resolve(cwd, file);
  };
  const { passphrase } = given;
  if (passphrase !== undefined && typeof passphrase !== 'string') throw invalid('tls.passphrase', 'a string', passphrase);
  const ca = file('ca');
  return Object.freeze({ cert: file('cert') as string, key: file('key') as string, ...(ca === undefined ? {} : { ca }), ...(passphrase === undefined ? {} : { passphrase }) });
}

/** `trustProxy`: a list of what proxy-addr accepts (checked by compiling it, loaded only then), or false. */
export function resolveTrustProxy(value: unknown): false | readonly string[] {
  if (value === undefined || value === false) return false;
  const list: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  if (list.length === 0 || !list.every((entry) => typeof entry === 'string' && entry.length > 0)) {
    throw invalid('trustProxy', 'false, an address or CIDR range (or "loopback", "linklocal", "uniquelocal"), or a non-empty list of them', value);
  }
  const entries = (list as string[]).flatMap((entry) => entry.split(',').map((part) => part.trim()));
  const proxyaddr = require('proxy-addr') as typeof ProxyAddr;
  entries.forEach((entry, index) => {
    try {
      proxyaddr.compile(entry);
    } catch {
      throw invalid(`trustProxy${Array.isArray(value) ? `.${index}` : ''}`, 'an IP address, a CIDR range or "loopback", "linklocal", "uniquelocal"', entry);
    }
  });
  return Object.freeze(entries);
}

/** `corsOrigins`: false (the default), `"*"` or a non-empty list of origins. */
export function resolveCorsOrigins(value: unknown): false | '*' | readonly string[] {
  if (value === undefined || value === false) return false;
  if (value === '*') return '*';
  if (!Array.isArray(value) || value.length === 0) throw invalid('corsOrigins', 'false, "*" or a non-empty array of origins', value);
  value.forEach((origin: unknown, index) => {
    if (!isOrigin(origin)) throw invalid(`corsOrigins.${index}`, 'an origin like "https://example.com" (scheme, host, optional port; no path)', origin);
  });
  return Object.freeze([...(value as string[])]);
}

/** `opsPort`: false (the default) or a port other than `port`. */
export function resolveOpsPort(value: unknown, port: number): number | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw invalid('opsPort', 'false or an integer from 0 to 65535', value);
  if (value !== 0 && value === port) throw invalid('opsPort', `different from options.port (${port})`, value);
  return value;
}

/** `host`: a non-empty string, `DEFAULT_HOST` when not given. */
export function resolveHost(value: unknown): string {
  const host = value ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.length === 0) throw invalid('host', 'a non-empty string', host);
  return host;
}

/** `opsHost`: a non-empty string, its spec's default when not given. */
export function resolveOpsHost(value: unknown): string {
  if (value === undefined) return OPTION_SPECS.opsHost.default;
  if (typeof value !== 'string' || value.length === 0) throw invalid('opsHost', 'a non-empty string', value);
  return value;
}

/** `forwardHeaders`: header names, lower-cased; `DEFAULT_FORWARD_HEADERS` when not given. */
export function resolveForwardHeaders(value: unknown): readonly string[] {
  const forwardHeaders = value ?? DEFAULT_FORWARD_HEADERS;
  if (!Array.isArray(forwardHeaders) || !forwardHeaders.every((h) => typeof h === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h))) {
    throw invalid('forwardHeaders', 'an array of header names', forwardHeaders);
  }
  return Object.freeze(forwardHeaders.map((h: string) => h.toLowerCase()));
}
