/**
 * The sockets one worker holds, by client id and by service, so that a send is
 * one map lookup and a broadcast touches only that service's sockets.
 */
import type { WebSocket } from 'ws';

export class ClientRegistry {
  private readonly byId = new Map<string, WebSocket>();
  private readonly byService = new Map<string, Map<string, WebSocket>>();

  get size(): number {
    return this.byId.size;
  }

  add(id: string, service: string, socket: WebSocket): void {
    this.byId.set(id, socket);
    let sockets = this.byService.get(service);
    if (sockets === undefined) {
      sockets = new Map();
      this.byService.set(service, sockets);
    }
    sockets.set(id, socket);
  }

  remove(id: string, service: string): void {
    this.byId.delete(id);
    this.byService.get(service)?.delete(id);
  }

  get(id: string): WebSocket | undefined {
    return this.byId.get(id);
  }

  /** Sockets of `service`, by id. */
  ofService(service: string): ReadonlyMap<string, WebSocket> {
    return this.byService.get(service) ?? new Map();
  }

  all(): IterableIterator<WebSocket> {
    return this.byId.values();
  }
}
