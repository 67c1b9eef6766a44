/**
 * Bench service for `--chaos` and the soak: the numbered echo protocol
 * (src/chaos/numbered.ts). Every message goes back to its sender unchanged,
 * or wrapped as redelivered when the server redelivered it to this instance
 * after another died, so the generator can tell a marked duplicate from an
 * unmarked one. HTTP requests (and the request envelope) get their body back.
 */
import { Service, type Client, type MessageInfo, type ServiceRequest } from 'switchyard';
import { markRedelivered } from '../../src/chaos/numbered';

export default class ChaosEchoService extends Service {
  override onMessage(client: Client, data: string | Buffer, info: MessageInfo): void {
    this.send(client.id, info.redelivered && typeof data === 'string' ? markRedelivered(data) : data);
  }

  override onRequest(request: ServiceRequest): unknown {
    return request.body;
  }
}
