/**
 * The link keys of one service's live instances (running, starting, retiring,
 * a reload's candidate), and what the instances must hear about the workers:
 * each instance gets its key first of all, over IPC (never the environment,
 * which the same user can read in `/proc/<pid>/environ`), with the live
 * workers; then each worker forked and each that exited. The workers' secrets
 * derive from the keys (`link-secret.ts`, `services/link-admission.ts`).
 */
import { linkSecret, newLinkKey, peerSecret } from '../link-secret';
import type { LinkControl } from '../protocol';

/** What the keys need of an instance: its IPC channel. */
export interface KeyedInstance {
  deliver(message: LinkControl, mustKeep: boolean): boolean;
}

export class LinkKeys<I extends KeyedInstance> {
  private readonly keys = new Map<I, string>();

  /** Makes `instance`'s key and sends it, with the live workers, before anything else reaches it. */
  add(instance: I, workers: readonly number[]): void {
    const key = newLinkKey();
    this.keys.set(instance, key);
    instance.deliver({ type: 'linkKey', key, workers }, true);
  }

  /** The instance exited. */
  delete(instance: I): void {
    this.keys.delete(instance);
  }

  /** Worker `worker`'s secret for `instance`'s links; undefined for an instance without a key. */
  secret(instance: I, worker: number): string | undefined {
    const key = this.keys.get(instance);
    return key === undefined ? undefined : linkSecret(key, worker);
  }

  /** Peer `from`'s secret for `instance`'s peer connections (another instance of the same service). */
  peerSecret(instance: I, from: number): string | undefined {
    const key = this.keys.get(instance);
    return key === undefined ? undefined : peerSecret(key, from);
  }

  /** A worker was forked: every live instance accepts its links from now on. Sent before the worker hears of any endpoint. */
  admit(worker: number): void {
    for (const instance of this.keys.keys()) instance.deliver({ type: 'admitWorker', worker }, true);
  }

  /** A worker exited: no live instance accepts a link in its name any more. */
  revoke(worker: number): void {
    for (const instance of this.keys.keys()) instance.deliver({ type: 'revokeWorker', worker }, true);
  }
}
