/**
 * Bundled example: sends every message back to its sender, text as text and
 * binary as binary; answers every request (HTTP or the WebSocket envelope)
 * with its body.
 */
import type { ServiceRequest } from '../request';
import type { Client } from '../client';
import { Service } from '../service';

export default class EchoService extends Service {
  override onMessage(client: Client, data: string | Buffer): void {
    this.send(client.id, data);
  }

  override onRequest(request: ServiceRequest): unknown {
    return request.body;
  }
}
