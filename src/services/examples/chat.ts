/**
 * Bundled example: the classic chat. Speaks JSON text messages.
 *
 * Client → server: `{type:"hello",name}`, `{type:"rooms"}`, `{type:"create",room}`,
 * `{type:"join",room}`, `{type:"leave"}`, `{type:"say",text}`.
 * Server → client: `welcome`, `rooms` (live user counts, pushed on every
 * change), `joined`, `left`, `message`, `notice` (join/leave), `error`.
 *
 * Each room is a topic: room traffic goes once to each worker that holds a
 * member, whichever instance subscribed it.
 *
 * It runs as one instance or several (`--instances chat=2`; clients are
 * sharded by client id): each instance keeps its own members, and tells its
 * peers, on every change and whenever a peer (re)appears, which rooms exist
 * and who is in each of its rooms (a full snapshot: idempotent, so a lost or
 * repeated one heals with the next). The room list, the user counts and the
 * names in a room are its own members plus the peers' latest snapshots; each
 * instance pushes the list to its own clients whenever it changes.
 */
import type { Client } from '../client';
import { Service } from '../service';

/** What an instance tells its peers: every room it knows, and the names of its members in each. */
type Snapshot = {
  readonly type: 'rooms';
  readonly rooms: Readonly<Record<string, readonly string[]>>;
};

function isSnapshot(value: unknown): value is Snapshot {
  if (typeof value !== 'object' || value === null) return false;
  const { type, rooms } = value as Record<string, unknown>;
  if (type !== 'rooms' || typeof rooms !== 'object' || rooms === null) return false;
  return Object.values(rooms).every((names) => Array.isArray(names) && names.every((name) => typeof name === 'string'));
}

interface Member {
  name: string | undefined;
  room: string | undefined;
}

export const CHAT_LIMITS = {
  nameLength: 32,
  roomLength: 32,
  textLength: 2000,
  rooms: 100,
} as const;

const ROOM_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} _-]*$/u;
const DEFAULT_ROOM = 'lobby';

function topicOf(room: string): string {
  return `room:${room}`;
}

type Incoming =
  | { type: 'hello'; name: string }
  | { type: 'rooms' }
  | { type: 'create'; room: string }
  | { type: 'join'; room: string }
  | { type: 'leave' }
  | { type: 'say'; text: string };

function parse(data: string | Buffer): Incoming | string {
  if (typeof data !== 'string') return 'messages must be JSON text';
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return 'messages must be JSON text';
  }
  if (typeof value !== 'object' || value === null) return 'a message must be a JSON object with a "type"';
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'rooms':
    case 'leave':
      return { type: message.type };
    case 'hello':
      return typeof message.name === 'string' ? { type: 'hello', name: message.name } : '"hello" needs a "name"';
    case 'create':
    case 'join':
      return typeof message.room === 'string' ? { type: message.type, room: message.room } : `"${message.type}" needs a "room"`;
    case 'say':
      return typeof message.text === 'string' ? { type: 'say', text: message.text } : '"say" needs a "text"';
    default:
      return `unknown message type ${JSON.stringify(message.type)}`;
  }
}

export default class ChatService extends Service {
  private readonly members = new Map<string, Member>();
  private readonly rooms = new Set<string>([DEFAULT_ROOM]);
  /** Each peer instance's latest snapshot (empty with one instance). */
  private readonly peerRooms = new Map<number, Readonly<Record<string, readonly string[]>>>();

  /** A peer's new process knows nothing yet: it gets this instance's rooms. */
  override onPeerUp(instance: number): void {
    this.peers.send(instance, this.snapshot());
  }

  override onPeerMessage(from: number, data: string | Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(String(data));
    } catch {
      return;
    }
    if (!isSnapshot(value)) return;
    this.peerRooms.set(from, value.rooms);
    for (const room of Object.keys(value.rooms)) if (this.rooms.size < CHAT_LIMITS.rooms) this.rooms.add(room);
    this.pushRooms();
  }

  override onConnect(client: Client): void {
    this.members.set(client.id, { name: undefined, room: undefined });
    // A resumed client (the service restarted) is unknown here again: its page says hello and rejoins on welcome.
    this.send(client.id, { type: 'welcome', id: client.id, limits: CHAT_LIMITS, resumed: client.resumed });
    this.send(client.id, this.roomList());
  }

  override onMessage(client: Client, data: string | Buffer): void {
    const member = this.members.get(client.id);
    if (member === undefined) return;
    const message = parse(data);
    if (typeof message === 'string') return this.fail(client.id, 'bad-message', message);
    switch (message.type) {
      case 'hello': {
        const name = message.name.trim();
        if (name.length === 0 || name.length > CHAT_LIMITS.nameLength) {
          return this.fail(client.id, 'bad-name', `names have 1 to ${CHAT_LIMITS.nameLength} characters`);
        }
        member.name = name;
        this.send(client.id, { type: 'named', name });
        return;
      }
      case 'rooms':
        this.send(client.id, this.roomList());
        return;
      case 'create':
      case 'join': {
        if (member.name === undefined) return this.fail(client.id, 'no-name', 'say hello with a name first');
        const room = message.room.trim();
        if (room.length === 0 || room.length > CHAT_LIMITS.roomLength || !ROOM_PATTERN.test(room)) {
          return this.fail(client.id, 'bad-room', `room names have 1 to ${CHAT_LIMITS.roomLength} letters, digits, spaces, "_" or "-"`);
        }
        if (!this.rooms.has(room)) {
          if (message.type === 'join') return this.fail(client.id, 'no-room', `there is no room "${room}"`);
          if (this.rooms.size >= CHAT_LIMITS.rooms) return this.fail(client.id, 'too-many-rooms', 'no more rooms can be created');
          this.rooms.add(room);
        }
        this.join(client.id, member, room);
        return;
      }
      case 'leave':
        if (member.room !== undefined) this.leave(client.id, member);
        this.send(client.id, { type: 'left' });
        this.roomsChanged();
        return;
      case 'say': {
        if (member.room === undefined || member.name === undefined) return this.fail(client.id, 'not-in-room', 'join a room first');
        const text = message.text;
        if (text.trim().length === 0 || text.length > CHAT_LIMITS.textLength) {
          return this.fail(client.id, 'bad-text', `messages have 1 to ${CHAT_LIMITS.textLength} characters`);
        }
        this.toRoom(member.room, { type: 'message', room: member.room, from: member.name, text, at: Date.now() });
        return;
      }
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  }

  override onClose(client: Client): void {
    const member = this.members.get(client.id);
    this.members.delete(client.id);
    if (member?.room !== undefined) {
      this.leave(client.id, member);
      this.roomsChanged();
    }
  }

  private join(id: string, member: Member, room: string): void {
    if (member.room === room) return;
    if (member.room !== undefined) this.leave(id, member);
    this.subscribe(id, topicOf(room));
    member.room = room;
    const users = this.namesIn(room);
    this.send(id, { type: 'joined', room, users });
    this.toRoom(room, { type: 'notice', event: 'join', room, name: member.name, text: `${member.name ?? ''} joined` }, id);
    this.roomsChanged();
  }

  private leave(id: string, member: Member): void {
    const room = member.room as string;
    // A closed client's subscriptions are already gone; unsubscribe only matters for a live one.
    this.unsubscribe(id, topicOf(room));
    member.room = undefined;
    this.toRoom(room, { type: 'notice', event: 'leave', room, name: member.name, text: `${member.name ?? ''} left` });
  }

  private toRoom(room: string, message: Record<string, unknown>, except?: string): void {
    this.publish(topicOf(room), message, except === undefined ? {} : { except });
  }

  /** The names of everyone in `room`: this instance's members, then each peer's. */
  private namesIn(room: string): string[] {
    const names = [...this.members.values()].filter((m) => m.room === room && m.name !== undefined).map((m) => m.name as string);
    for (const rooms of this.peerRooms.values()) names.push(...(rooms[room] ?? []));
    return names;
  }

  private roomList(): { type: 'rooms'; rooms: Array<{ name: string; users: number }> } {
    return { type: 'rooms', rooms: [...this.rooms].map((name) => ({ name, users: this.usersIn(name) })) };
  }

  private usersIn(room: string): number {
    // Members of this instance are its topic's subscribers; those of the peers come from their snapshots.
    let users = this.subscribers(topicOf(room));
    for (const rooms of this.peerRooms.values()) users += rooms[room]?.length ?? 0;
    return users;
  }

  /** This instance's rooms and members, for its peers. */
  private snapshot(): Snapshot {
    const rooms: Record<string, string[]> = {};
    for (const room of this.rooms) rooms[room] = [];
    for (const member of this.members.values()) if (member.room !== undefined && member.name !== undefined) rooms[member.room]?.push(member.name);
    return { type: 'rooms', rooms };
  }

  /** A room was made, or someone came or went here: the peers hear of it, and every client gets the new list. */
  private roomsChanged(): void {
    if (this.instances > 1) this.peers.broadcast(this.snapshot());
    this.pushRooms();
  }

  /**
   * The room list to this instance's clients: with one instance, one
   * broadcast (framed once per worker); with several, each instance sends
   * its own view to its own clients (a broadcast would reach the peers'
   * clients too, and their views may be a snapshot ahead).
   */
  private pushRooms(): void {
    const list = this.roomList();
    if (this.instances === 1) {
      this.broadcast(list);
      return;
    }
    for (const id of this.clients.keys()) this.send(id, list);
  }

  private fail(id: string, code: string, message: string): void {
    this.send(id, { type: 'error', code, message });
  }
}
