/**
 * An in-memory stand-in for NATS, for channel and link tests without a
 * nats-server: a publish reaches every subscription whose subject prefix it
 * matches (`prefix.>` subscriptions), on a later turn, as a network would.
 * `drop` loses what it matches (a cut towards one node, say).
 */
import type { NatsPort } from '../../src/nats/channel-router';

export class MemoryNats {
  /** Publishes this returns true for are lost. */
  drop: (subject: string) => boolean = () => false;
  private readonly subscriptions: Array<{ prefix: string; handler: (subject: string, data: Uint8Array) => void }> = [];

  port(): NatsPort {
    return {
      publish: (subject, data) => {
        if (this.drop(subject)) return;
        const copy = Buffer.from(data);
        setImmediate(() => {
          for (const sub of this.subscriptions) if (subject.startsWith(sub.prefix)) sub.handler(subject, copy);
        });
      },
      subscribe: (subject, handler) => {
        const entry = { prefix: subject.slice(0, -1), handler };
        this.subscriptions.push(entry);
        return () => this.subscriptions.splice(this.subscriptions.indexOf(entry), 1);
      },
      maxPayload: () => 1024 * 1024,
    };
  }
}

/** Resolves once `condition()` holds, checked every 5 ms; rejects naming `what` after 5 s. */
export function until(condition: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const check = (): void => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 5);
    };
    check();
  });
}
