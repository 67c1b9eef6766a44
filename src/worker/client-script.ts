/**
 * Serves the browser build of `switchyard/client` at `/switchyard-client.js`
 * (built by scripts/build-client.js into dist/client/), so that a page with
 * no bundler can `import { connect } from '/switchyard-client.js'`. Read and
 * gzipped once, on the first request: a worker nobody asks pays nothing.
 * Answered before the static folder, whatever `staticDir` is.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../logger';
import { replyError } from './http-reply';

export const CLIENT_SCRIPT_PATH = '/switchyard-client.js';

/** The built file, at the package root's dist/ (the same from src/worker and from dist/worker). */
export const CLIENT_SCRIPT_FILE = path.join(__dirname, '..', '..', 'dist', 'client', 'switchyard-client.js');

interface Loaded {
  readonly plain: Buffer;
  readonly gzipped: Buffer;
  readonly etag: string;
}

/**
 * The name is not versioned, so browsers keep a copy but revalidate it (a 304
 * by the ETag): a new release is picked up on the next page load. Any origin
 * may load it (module scripts are fetched with CORS); it holds no secret.
 */
const HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/javascript; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  Vary: 'Accept-Encoding',
};

function acceptsGzip(request: IncomingMessage): boolean {
  const accepted = request.headers['accept-encoding'];
  return typeof accepted === 'string' && /\bgzip\b/.test(accepted) && !/\bgzip\s*;\s*q=0(\.0*)?\b/.test(accepted);
}

export class ClientScript {
  /** undefined until first asked; a promise so that concurrent first requests read the file once. */
  private loading: Promise<Loaded | undefined> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly file = CLIENT_SCRIPT_FILE,
  ) {}

  /** Whether a raw request target names the script (query strings, e.g. a cache-busting `?v=`, allowed). */
  static matches(url: string | undefined): boolean {
    return url !== undefined && (url === CLIENT_SCRIPT_PATH || url.startsWith(`${CLIENT_SCRIPT_PATH}?`));
  }

  serve(request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') return replyError(response, 405, 'Only GET and HEAD are allowed here', { Allow: 'GET, HEAD' });
    this.loading ??= this.load();
    this.loading.then(
      (script) => this.answer(request, response, script),
      (error: unknown) => {
        this.log.error({ err: error }, 'serving the client script failed');
        if (!response.headersSent) replyError(response, 500, 'Internal server error');
      },
    );
  }

  private answer(request: IncomingMessage, response: ServerResponse, script: Loaded | undefined): void {
    if (script === undefined) return replyError(response, 404, 'The client script is not built (npm run build)');
    if (request.headers['if-none-match'] === script.etag) {
      response.writeHead(304, { ...HEADERS, ETag: script.etag });
      response.end();
      return;
    }
    const gzip = acceptsGzip(request);
    const body = gzip ? script.gzipped : script.plain;
    response.writeHead(200, { ...HEADERS, ETag: script.etag, 'Content-Length': body.length, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  private async load(): Promise<Loaded | undefined> {
    let plain: Buffer;
    try {
      plain = await fs.readFile(this.file);
    } catch (error) {
      // Running from sources without a build: say how to get it, once (the result is cached).
      this.log.warn({ err: error, file: this.file }, 'the client script is missing; run npm run build');
      return undefined;
    }
    const etag = `"${createHash('sha256').update(plain).digest('base64url').slice(0, 22)}"`;
    return { plain, gzipped: gzipSync(plain, { level: 9 }), etag };
  }
}
