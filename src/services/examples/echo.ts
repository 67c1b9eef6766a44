/** Bundled example: sends every message back to its sender, text as text and binary as binary. */
import { Service, type Client } from '../service';

export default class EchoService extends Service {
  override onMessage(client: Client, data: string | Buffer): void {
    this.send(client.id, data);
  }
}
