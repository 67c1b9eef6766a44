/**
 * CORS for HTTP requests to services (`/services/<name>`), with
 * `corsOrigins`: a browser page on another origin may call a service with
 * `fetch`. The worker answers the preflight (`OPTIONS` with
 * `Access-Control-Request-Method`) itself, without bothering the service,
 * and adds `Access-Control-Allow-Origin` to the answers of allowed origins.
 * Without `corsOrigins` nothing here runs and no CORS header is sent.
 *
 * An origin in the list is echoed and may send credentials (cookies, HTTP
 * auth): it was named, so it is trusted that far. `'*'` allows every origin
 * without credentials, as the Fetch standard requires of `*`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { replyError } from './http-reply';

/** Methods a cross-origin page may use: what services answer over HTTP. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';

/** How long a browser may cache a preflight's answer, in seconds. */
export const PREFLIGHT_MAX_AGE_S = '600';

/** Longest `Access-Control-Request-Headers` echoed back: a real list of header names is far shorter. */
const MAX_REQUEST_HEADERS_LENGTH = 1024;
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

export class CorsPolicy {
  private readonly origins: ReadonlySet<string> | null;

  /** `origins`: `'*'` for any, or the exact origins allowed. */
  constructor(origins: '*' | readonly string[]) {
    this.origins = origins === '*' ? null : new Set(origins);
  }

  /**
   * For a request to a service: answers a preflight and returns true (the
   * request is done), or adds the CORS headers an allowed origin needs to
   * the response and returns false (the request goes on to the service).
   */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const origin = request.headers.origin;
    const preflight = request.method === 'OPTIONS' && origin !== undefined && request.headers['access-control-request-method'] !== undefined;
    // Caches must not give one origin's answer to another.
    if (this.origins !== null) response.setHeader('Vary', 'Origin');
    const allowed = origin !== undefined && (this.origins === null || this.origins.has(origin));
    if (!preflight) {
      if (allowed) this.allow(response, origin);
      return false;
    }
    if (!allowed) {
      replyError(response, 403, 'Origin not allowed');
      return true;
    }
    this.allow(response, origin);
    response.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    const asked = request.headers['access-control-request-headers'];
    if (asked !== undefined && asked.length <= MAX_REQUEST_HEADERS_LENGTH && HEADER_LIST.test(asked.trim())) {
      response.setHeader('Access-Control-Allow-Headers', asked.trim());
    }
    response.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_S);
    response.writeHead(204);
    response.end();
    return true;
  }

  private allow(response: ServerResponse, origin: string): void {
    if (this.origins === null) {
      response.setHeader('Access-Control-Allow-Origin', '*');
      return;
    }
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Allow-Credentials', 'true');
  }
}
