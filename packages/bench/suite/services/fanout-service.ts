/**
 * Bench service for the fanout scenario: every client is subscribed to one
 * topic when it connects, and every message any client sends is published to
 * that topic, the sender included (the bench publisher uses its own copy as
 * the acknowledgement). The row thus measures the topic path: one publish over
 * IPC per worker that holds a subscriber, fanned out there.
 */
import { Service, type Client } from 'switchyard';

const TOPIC = 'bench';

export default class FanoutService extends Service {
  override onConnect(client: Client): void {
    this.subscribe(client.id, TOPIC);
  }

  override onMessage(_client: Client, data: string | Buffer): void {
    this.publish(TOPIC, data);
  }
}
