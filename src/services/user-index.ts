/**
 * Which connected clients each authenticated user has (a user may hold
 * several connections: tabs, devices), kept by the service host as clients
 * connect and close, so that `sendToUser` and `closeUser` cost the user's
 * connections, not a scan of every client.
 */
export class UserIndex {
  private readonly byUser = new Map<string, Set<string>>();

  add(user: string, client: string): void {
    let clients = this.byUser.get(user);
    if (clients === undefined) {
      clients = new Set();
      this.byUser.set(user, clients);
    }
    clients.add(client);
  }

  remove(user: string, client: string): void {
    const clients = this.byUser.get(user);
    if (clients === undefined) return;
    clients.delete(client);
    if (clients.size === 0) this.byUser.delete(user);
  }

  /** The ids of `user`'s connected clients (empty when none). */
  clientsOf(user: string): ReadonlySet<string> {
    return this.byUser.get(user) ?? EMPTY;
  }

  get size(): number {
    return this.byUser.size;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
