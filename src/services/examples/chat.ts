/**
 * Bundled example: the classic chat. Speaks JSON text messages.
 *
 * Client → server: `{type:"hello",name}`, `{type:"rooms"}`, `{type:"create",room}`,
 * `{type:"join",room}`, `{type:"leave"}`, `{type:"say",text}`.
 * Server → client: `welcome`, `rooms` (live user counts, pushed on every
 * change), `joined`, `left`, `message`, `notice` (join/leave), `error`.
 *
 * Each room is a topic: room traffic goes once to each worker that holds a
 * member, and the user counts are the topics' subscriber counts.
 */
import type { Client } from '../client';
import { Service } from '../service';

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
        this.broadcastRooms();
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
      this.broadcastRooms();
    }
  }

  private join(id: string, member: Member, room: string): void {
    if (member.room === room) return;
    if (member.room !== undefined) this.leave(id, member);
    this.subscribe(id, topicOf(room));
    member.room = room;
    const users = [...this.members.values()].filter((m) => m.room === room && m.name !== undefined).map((m) => m.name as string);
    this.send(id, { type: 'joined', room, users });
    this.toRoom(room, { type: 'notice', event: 'join', room, name: member.name, text: `${member.name ?? ''} joined` }, id);
    this.broadcastRooms();
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

  private roomList(): { type: 'rooms'; rooms: Array<{ name: string; users: number }> } {
    return { type: 'rooms', rooms: [...this.rooms].map((name) => ({ name, users: this.subscribers(topicOf(name)) })) };
  }

  private broadcastRooms(): void {
    this.broadcast(this.roomList());
  }

  private fail(id: string, code: string, message: string): void {
    this.send(id, { type: 'error', code, message });
  }
}
