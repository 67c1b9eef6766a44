/**
 * Bench service for the `--nats` failure timings (nats/nats-faults.ts):
 * greets each client with its id, answers every message with
 * `{ type: 'echo', data, redelivered }`, and tells every client that sent
 * "watch" about each `onClose` it hears, with the wall-clock time it heard
 * it (`{ type: 'closed', id, code, reason, at }`): the suite, on the same
 * machine, subtracts the moment it killed a node.
 */
import { Service, type Client, type MessageInfo } from 'switchyard';

export default class NatsWatchService extends Service {
  private readonly watchers = new Set<string>();

  override onConnect(client: Client): void {
    this.send(client.id, { type: 'welcome', id: client.id });
  }

  override onMessage(client: Client, data: string | Buffer, info: MessageInfo): void {
    if (data === 'watch') {
      this.watchers.add(client.id);
      this.send(client.id, { type: 'watching' });
      return;
    }
    this.send(client.id, { type: 'echo', data: String(data), redelivered: info.redelivered });
  }

  override onClose(client: Client, code: number, reason: string): void {
    const at = Date.now();
    this.watchers.delete(client.id);
    for (const watcher of this.watchers) this.send(watcher, { type: 'closed', id: client.id, code, reason, at });
  }
}
