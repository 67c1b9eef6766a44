/**
 * `--tls` (suite.ts): one self-signed certificate for the run, made with
 * openssl, that every target serves; the generator, in this process and its
 * children, accepts it (loopback only, a bench, not a client to copy).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The environment through which the targets learn the certificate's files. */
export const TLS_CERT_ENV = 'SWITCHYARD_BENCH_TLS_CERT';
export const TLS_KEY_ENV = 'SWITCHYARD_BENCH_TLS_KEY';

/** Makes the certificate and points the targets at it; `remove()` deletes it. */
export function useTestCertificate(): { remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-bench-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  process.env[TLS_CERT_ENV] = cert;
  process.env[TLS_KEY_ENV] = key;
  // The generator's ws clients (here and in --procs children, which inherit it) accept the self-signed certificate.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  return { remove: () => rmSync(dir, { recursive: true, force: true }) };
}
