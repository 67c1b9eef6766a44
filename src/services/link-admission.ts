/**
 * Which workers a service instance accepts links from: those the master
 * announced, each presenting the secret the master derived for it from this
 * instance's key (see `link-secret.ts`). Any other local process of the same
 * user can reach the socket; without this it could pass for a worker, inject
 * clients and messages, or claim the next worker ids in advance so that a
 * replacement worker's link is refused and its clients black-holed.
 *
 * The master tells the instance its key and the live workers (`linkKey`),
 * then each worker forked (`admitWorker`) and each that exited
 * (`revokeWorker`). Its announcement to the worker travels on another channel
 * and may overtake the admission, so a valid secret for an id above every id
 * announced so far is accepted too: only the master, which holds the key,
 * can have derived it, and it derives secrets only for workers it admits.
 * Ids below that mark are accepted only while admitted, which is how a
 * revoked id stays refused with a set no larger than the live workers.
 */
import { isLinkSecret, isPeerSecret } from '../link-secret';
import type { LinkControl } from '../protocol';

/** Why a hello was refused, for the log line. */
export type Refusal = 'no key yet' | 'worker not announced' | 'wrong secret';

export class LinkAdmission {
  private key: string | undefined;
  private readonly admitted = new Set<number>();
  /** The highest worker id the master has announced or revoked. */
  private highest = -1;

  /** Applies one of the master's messages about this instance's links. */
  fromMaster(message: LinkControl): void {
    switch (message.type) {
      case 'linkKey':
        this.key = message.key;
        for (const worker of message.workers) this.admit(worker);
        return;
      case 'admitWorker':
        this.admit(message.worker);
        return;
      case 'revokeWorker':
        this.admitted.delete(message.worker);
        this.highest = Math.max(this.highest, message.worker);
        return;
      case 'remoteWorkers':
        // Links from other nodes are admitted by the link server's channel check, not by secrets.
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Whether the master's `linkKey` has come. */
  get hasKey(): boolean {
    return this.key !== undefined;
  }

  /** The workers admitted now (announced and not revoked). */
  admittedWorkers(): readonly number[] {
    return [...this.admitted];
  }

  /** Undefined when worker `worker` presenting `secret` may link; otherwise why not. */
  check(worker: number, secret: string): Refusal | undefined {
    if (this.key === undefined) return 'no key yet';
    if (!this.admitted.has(worker) && worker <= this.highest) return 'worker not announced';
    return isLinkSecret(this.key, worker, secret) ? undefined : 'wrong secret';
  }

  /** Whether peer instance `instance` presenting `secret` may connect: only the master, which holds this instance's key, can have derived it. */
  admitsPeer(instance: number, secret: string): boolean {
    return this.key !== undefined && isPeerSecret(this.key, instance, secret);
  }

  private admit(worker: number): void {
    this.admitted.add(worker);
    this.highest = Math.max(this.highest, worker);
  }
}
