/**
 * The secrets that let a service instance tell a worker's link from any other
 * local process of the same user (the socket folder's 0700 keeps out other
 * users only). The master makes a random key per service instance and hands it
 * to that instance over IPC; each worker gets, with the instance's endpoint,
 * the HMAC of its own worker id under that key. A worker's secret thus differs
 * per worker and per instance: knowing one lets no one pass for another worker
 * or reach another instance. Neither key nor secret ever travels in the
 * environment, which the same user can read in `/proc/<pid>/environ`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Characters of a key or a secret: 32 bytes in base64url, without padding. */
export const LINK_SECRET_LENGTH = 43;

/** A fresh key for one service instance. */
export function newLinkKey(): string {
  return randomBytes(32).toString('base64url');
}

/** The secret worker `worker` presents in its hello to the instance whose key is `key`. */
export function linkSecret(key: string, worker: number): string {
  return createHmac('sha256', key).update(String(worker)).digest('base64url');
}

/** Whether `given` is `worker`'s secret under `key`, compared in constant time. */
export function isLinkSecret(key: string, worker: number, given: string): boolean {
  const expected = Buffer.from(linkSecret(key, worker));
  const actual = Buffer.from(given);
  // timingSafeEqual throws on different lengths; the length of a secret is no secret.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The secret instance `instance` presents to a peer (another instance of its service) whose key is `key`: apart from every worker's. */
export function peerSecret(key: string, instance: number): string {
  return createHmac('sha256', key).update(`peer:${instance}`).digest('base64url');
}

/** Whether `given` is peer `instance`'s secret under `key`, compared in constant time. */
export function isPeerSecret(key: string, instance: number, given: string): boolean {
  const expected = Buffer.from(peerSecret(key, instance));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
