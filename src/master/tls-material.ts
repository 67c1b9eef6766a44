/**
 * The TLS certificate, key and CA the workers serve, read from their files by
 * the master at start and at every reload, checked, and handed to each worker
 * over IPC (protocol.ts, `tls`).
 *
 * Why the master reads them and not each worker: the files are read and
 * checked once, before any process is touched, so a bad file fails the start
 * or the reload with one clear error naming the file (and a reload then
 * changes nothing); every worker serves exactly the bytes that were checked,
 * even if the files change again meanwhile; and the key never sits in a
 * child's environment, which any process of the same user can read in
 * `/proc/<pid>/environ` (as for the link secrets).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { SwitchyardError } from '../errors';
import type { TlsOptions } from '../options';
import type { TlsMaterial } from '../protocol';


const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----/;

/** Reads one PEM file; `what` names it in the error ("certificate", "key", "CA"). */
function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_TLS_CERT', `cannot read the TLS ${what} file ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  if (!PEM_BLOCK.test(text)) throw new SwitchyardError('SY_ERR_TLS_CERT', `the TLS ${what} file ${file} holds no PEM block (-----BEGIN …-----)`);
  return text;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Parses every certificate of a PEM file: node's TLS context skips a CA it cannot parse without a word. */
function checkCertificates(pem: string, message: string): void {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no CERTIFICATE block');
    for (const block of blocks) new X509Certificate(block);
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_TLS_CERT', `${message}: ${(cause as Error).message}`, { cause });
  }
}

function check(options: Parameters<typeof createSecureContext>[0], message: string): void {
  try {
    createSecureContext(options);
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_TLS_CERT', `${message}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads and checks the files of `tls`: each readable and PEM, and together a
 * context OpenSSL accepts (the key matches the certificate, the passphrase
 * opens the key). Throws `SY_ERR_TLS_CERT` naming the file at fault.
 */
export function readTlsMaterial(tls: TlsOptions): TlsMaterial {
  const cert = readPem(tls.cert, 'certificate');
  const key = readPem(tls.key, 'key');
  const ca = tls.ca === undefined ? undefined : readPem(tls.ca, 'CA');
  const material: TlsMaterial = { cert, key, ...(ca === undefined ? {} : { ca }), ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }) };
  // One step per file, so that the error names the file at fault: OpenSSL names only the step.
  checkCertificates(cert, `the TLS certificate file ${tls.cert} is not a usable PEM certificate`);
  if (ca !== undefined) checkCertificates(ca, `the TLS CA file ${tls.ca as string} is not a usable PEM certificate`);
  check({ cert, key, passphrase: tls.passphrase }, `the TLS key file ${tls.key} cannot be used with the certificate ${tls.cert} (not its key, or a wrong or missing passphrase)`);
  return material;
}

/**
 * Why the leaf certificate of `material` is not valid at `now`, or undefined
 * when it is: served anyway (the operator may be renewing it right now), but
 * worth a warning, since clients will refuse it.
 */
export function certificateValidity(material: TlsMaterial, now: Date = new Date()): string | undefined {
  const leaf = new X509Certificate(material.cert);
  if (new Date(leaf.validTo) < now) return `the TLS certificate expired on ${leaf.validTo}; clients will refuse it`;
  if (new Date(leaf.validFrom) > now) return `the TLS certificate is not valid before ${leaf.validFrom}; clients will refuse it`;
  return undefined;
}
