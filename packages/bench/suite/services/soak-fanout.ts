/**
 * Soak service for fan-out: every client is subscribed to one topic on
 * connect (resumed clients again, after a restart or reload: a new instance
 * starts with no subscriptions), and every message is published to it, the
 * sender included (the soak's publisher takes its own copy as the
 * acknowledgement). A message the server redelivered to this instance is
 * published marked (src/chaos/numbered.ts), so subscribers can tell a
 * redelivered duplicate from an unmarked one.
 */
import { Service, type Client, type MessageInfo } from 'switchyard';
import { markRedelivered } from '../../src/chaos/numbered';

const TOPIC = 'soak';

export default class SoakFanoutService extends Service {
  override onConnect(client: Client): void {
    this.subscribe(client.id, TOPIC);
  }

  override onMessage(_client: Client, data: string | Buffer, info: MessageInfo): void {
    this.publish(TOPIC, info.redelivered && typeof data === 'string' ? markRedelivered(data) : data);
  }
}
