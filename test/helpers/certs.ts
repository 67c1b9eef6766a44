/**
 * Certificates made for a test with Debian's openssl: a CA, and server
 * certificates for `localhost` / 127.0.0.1 signed by it. EC P-256 keys: made
 * in a few ms, where RSA 2048 takes a noticeable fraction of a second.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const OPENSSL = process.env.OPENSSL ?? 'openssl';

export interface TestCa {
  readonly dir: string;
  /** The CA certificate file (what a client trusts). */
  readonly caFile: string;
  readonly caPem: string;
  /** Removes the folder and everything made in it. */
  remove(): void;
}

export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
  /** SHA-256 fingerprint as node's `getPeerCertificate().fingerprint256` prints it. */
  readonly fingerprint256: string;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A fresh CA in a temporary folder. */
export function makeCa(name = 'Switchyard Test CA'): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-certs-'));
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name}`]);
  const caFile = path.join(dir, 'ca.pem');
  return { dir, caFile, caPem: readFileSync(caFile, 'utf8'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A server certificate for localhost and 127.0.0.1 signed by `ca`, written to
 * `<name>.pem` and `<name>.key` in the CA's folder (an existing pair of that
 * name is replaced, as a renewal does).
 */
export function makeCert(ca: TestCa, name: string, options: { readonly passphrase?: string } = {}): TestCert {
  const { dir } = ca;
  writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const keyArgs = options.passphrase === undefined ? ['-nodes'] : ['-passout', `pass:${options.passphrase}`];
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', ...keyArgs, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost']);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'san.cnf']);
  const certFile = path.join(dir, `${name}.pem`);
  return { certFile, keyFile: path.join(dir, `${name}.key`), fingerprint256: new X509Certificate(readFileSync(certFile)).fingerprint256 };
}
