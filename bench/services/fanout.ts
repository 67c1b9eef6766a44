/**
 * Bench service for the fanout scenario: every message any client sends goes
 * to every client of this service, the sender included (the bench publisher
 * uses its own copy as the acknowledgement).
 *
 * TODO(topics): when `this.subscribe(clientId, topic)` / `this.publish(topic, data)`
 * land, subscribe each client to one topic in onConnect and publish to it
 * here, so the fanout row measures the topic path ("one topic, 2,000
 * subscribers") rather than the service-wide broadcast.
 */
import { Service, type Client } from '../../src/services/service';

export default class FanoutService extends Service {
  override onMessage(_client: Client, data: string | Buffer): void {
    this.broadcast(data);
  }
}
