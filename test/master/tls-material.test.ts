import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isSwitchyardError } from '../../src/errors';
import { certificateValidity, readTlsMaterial } from '../../src/master/tls-material';
import { resolveOptions } from '../../src/options';
import { makeCa, makeCert, type TestCa, type TestCert } from '../helpers/certs';

let ca: TestCa;
let cert: TestCert;

beforeAll(() => {
  ca = makeCa();
  cert = makeCert(ca, 'server');
});
afterAll(() => ca.remove());

function failure(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isSwitchyardError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a SwitchyardError');
}

test('a matching certificate and key are read as PEM text, with the CA and passphrase when given', () => {
  const material = readTlsMaterial({ cert: cert.certFile, key: cert.keyFile, ca: ca.caFile });
  expect(material.cert).toContain('-----BEGIN CERTIFICATE-----');
  expect(material.key).toContain('PRIVATE KEY-----');
  expect(material.ca).toBe(ca.caPem);
  const locked = makeCert(ca, 'locked', { passphrase: 'sesame' });
  expect(readTlsMaterial({ cert: locked.certFile, key: locked.keyFile, passphrase: 'sesame' }).passphrase).toBe('sesame');
});

test('each bad file is refused with SY_ERR_TLS_CERT naming it', () => {
  const missing = path.join(ca.dir, 'missing.pem');
  expect(failure(() => readTlsMaterial({ cert: missing, key: cert.keyFile }))).toEqual({ code: 'SY_ERR_TLS_CERT', message: expect.stringContaining(`certificate file ${missing}: ENOENT`) });
  const notPem = path.join(ca.dir, 'not-pem.txt');
  writeFileSync(notPem, 'hello\n');
  expect(failure(() => readTlsMaterial({ cert: cert.certFile, key: notPem })).message).toContain(`key file ${notPem} holds no PEM block`);
  const broken = path.join(ca.dir, 'broken.pem');
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  expect(failure(() => readTlsMaterial({ cert: broken, key: cert.keyFile })).message).toContain(`certificate file ${broken} is not a usable PEM certificate`);
  expect(failure(() => readTlsMaterial({ cert: cert.certFile, key: cert.keyFile, ca: broken })).message).toContain(`CA file ${broken}`);
  // The CA's key is a valid key, but not the certificate's.
  const otherKey = path.join(ca.dir, 'ca.key');
  expect(failure(() => readTlsMaterial({ cert: cert.certFile, key: otherKey })).message).toContain(`key file ${otherKey} cannot be used with the certificate`);
  const locked = makeCert(ca, 'locked2', { passphrase: 'sesame' });
  expect(failure(() => readTlsMaterial({ cert: locked.certFile, key: locked.keyFile, passphrase: 'wrong' })).code).toBe('SY_ERR_TLS_CERT');
});

test('options.tls resolves its paths against cwd and refuses wrong shapes', () => {
  expect(resolveOptions({}).tls).toBe(false);
  expect(resolveOptions({ cwd: '/srv', tls: { cert: 'c.pem', key: '/k/k.pem', ca: 'ca.pem' } }).tls).toEqual({ cert: '/srv/c.pem', key: '/k/k.pem', ca: '/srv/ca.pem' });
  for (const [tls, message] of [
    [true, 'options.tls must be false or an object'],
    [{ cert: 'c.pem' }, 'options.tls.key must be a PEM file path'],
    [{ cert: '', key: 'k.pem' }, 'options.tls.cert must be a PEM file path'],
    [{ cert: 'c.pem', key: 'k.pem', passphrase: 1 }, 'options.tls.passphrase must be a string'],
    [{ cert: 'c.pem', key: 'k.pem', pfx: 'x' }, 'options.tls.pfx is not a known option'],
  ] as const) {
    expect(failure(() => resolveOptions({ tls: tls as never }))).toEqual({ code: 'SY_ERR_INVALID_OPTION', message: expect.stringContaining(message) });
  }
});

test('a certificate outside its validity period is reported (the start still serves it, with a warning)', () => {
  const material = readTlsMaterial({ cert: cert.certFile, key: cert.keyFile });
  expect(certificateValidity(material)).toBeUndefined();
  expect(certificateValidity(material, new Date(Date.now() + 10 * 86_400_000))).toMatch(/^the TLS certificate expired on /);
  expect(certificateValidity(material, new Date(Date.now() - 10 * 86_400_000))).toMatch(/^the TLS certificate is not valid before /);
});
