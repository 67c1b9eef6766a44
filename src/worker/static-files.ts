/**
 * Serves the files of one folder over plain HTTP (GET and HEAD), for the demo
 * chat page. The request path is untrusted input: it is decoded once, checked
 * segment by segment, resolved inside the folder, and the real path of the
 * file (symlinks followed) must still be inside the folder's real path.
 * Files are streamed from an open descriptor, so what was checked is what is
 * sent.
 */
import { constants as fsConstants, createReadStream, realpathSync, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import type { Logger } from '../logger';
import { replyError } from './http-reply';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

/**
 * The page may load its own script and style and open WebSockets; nothing
 * else: no inline script, no eval, no foreign origins, no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * File names are not hashed, so browsers may keep a copy but must revalidate
 * it (a cheap 304 thanks to the ETag): a new release is seen on next load.
 */
const CACHE_CONTROL = 'no-cache';

export type PathCheck =
  | { readonly ok: true; readonly file: string }
  | { readonly ok: false; readonly status: 400 | 404 };

/**
 * Maps a raw request path (without query) to a file path inside `root`, or
 * says why not. Pure: touches no file system. `root` must be absolute.
 */
export function resolveRequestPath(root: string, rawPath: string): PathCheck {
  if (!rawPath.startsWith('/')) return { ok: false, status: 400 };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400 };
  }
  // Backslashes are separators on Windows and never needed in our URLs; NUL truncates paths in C.
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 404 };
  if (decoded.endsWith('/')) decoded += 'index.html';
  const segments = decoded.slice(1).split('/');
  // An empty segment (`//`) could make the rest absolute; a leading dot covers `.`, `..` and hidden files (.git, .env).
  if (segments.some((segment) => segment.length === 0 || segment.startsWith('.'))) return { ok: false, status: 404 };
  const relative = segments.join(path.sep);
  if (path.isAbsolute(relative)) return { ok: false, status: 404 };
  const file = path.resolve(root, relative);
  if (!isInside(root, file)) return { ok: false, status: 404 };
  return { ok: true, file };
}

function isInside(root: string, file: string): boolean {
  return file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? FALLBACK_CONTENT_TYPE;
}

function notFoundHere(_request: IncomingMessage, response: ServerResponse): void {
  replyError(response, 404, 'Not found');
}

export class StaticFiles {
  /** The folder's real path: symlinks inside it may point anywhere inside it, never out. */
  private readonly root: string;

  /** `folder` must exist (`resolveOptions()` checks it). */
  constructor(folder: string, private readonly log: Logger) {
    this.root = realpathSync(path.resolve(folder));
  }

  /**
   * Answers `request` completely: the file, 304, or 400/404/405/500. A path
   * that names no file is 404 whatever the method, so that only existing
   * files answer 405 to methods other than GET and HEAD. With `notFound`
   * (the `http` app), a path that names no file is its to answer instead.
   */
  serve(request: IncomingMessage, response: ServerResponse, notFound?: (request: IncomingMessage, response: ServerResponse) => void): void {
    this.respond(request, response, notFound).catch((error: unknown) => {
      this.log.error({ err: error, url: request.url }, 'static file failed');
      if (!response.headersSent) replyError(response, 500, 'Internal server error');
      else response.destroy();
    });
  }

  private async respond(request: IncomingMessage, response: ServerResponse, notFound = notFoundHere): Promise<void> {
    // The raw target, not a WHATWG-normalized one: this module does its own checks on exactly what arrived.
    const rawPath = (request.url ?? '').split(/[?#]/, 1)[0] ?? '';
    const check = resolveRequestPath(this.root, rawPath);
    if (!check.ok) return check.status === 400 ? replyError(response, 400, 'Bad request path') : notFound(request, response);

    const handle = await this.openInside(check.file);
    if (handle === undefined) return notFound(request, response);
    let streaming = false;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return notFound(request, response);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return replyError(response, 405, 'Only GET and HEAD are allowed here', { Allow: 'GET, HEAD' });
      }
      const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
      const headers: Record<string, string | number> = {
        ...SECURITY_HEADERS,
        'Cache-Control': CACHE_CONTROL,
        ETag: etag,
        'Last-Modified': stat.mtime.toUTCString(),
      };
      if (request.headers['if-none-match'] === etag) {
        response.writeHead(304, headers);
        response.end();
        return;
      }
      response.writeHead(200, { ...headers, 'Content-Type': contentTypeFor(check.file), 'Content-Length': stat.size });
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      if (stat.size === 0) {
        response.end();
        return;
      }
      // From here the stream owns the descriptor and closes it (autoClose), also when the client goes away.
      streaming = true;
      const stream = createReadStream('', { fd: handle, start: 0, end: stat.size - 1, autoClose: true });
      stream.on('error', (error) => {
        this.log.warn({ err: error, file: check.file }, 'reading a static file failed');
        response.destroy();
      });
      stream.pipe(response);
      response.on('close', () => stream.destroy());
    } finally {
      if (!streaming) await handle.close();
    }
  }

  /** Opens `file` when its real path is inside the root; undefined when it is missing or escapes. */
  private async openInside(file: string): Promise<fs.FileHandle | undefined> {
    let real: string;
    try {
      real = await fs.realpath(file);
    } catch {
      return undefined;
    }
    if (!isInside(this.root, real)) {
      this.log.warn({ file }, 'static path resolves outside the static folder; refused');
      return undefined;
    }
    try {
      // Open the checked real path, refusing a symlink swapped in since the check.
      return await fs.open(real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
  }
}
