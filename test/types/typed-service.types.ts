/**
 * Compile-time tests of typed services: `npm run typecheck` (tsc over test/)
 * fails if any line marked `@ts-expect-error` compiles, so a wrong message
 * type must be a type error. Not a jest file: it has nothing to run.
 */
import { Service, type Client, type StandardSchemaV1 } from '../../src/index';

type ClientMessage = { readonly type: 'say'; readonly text: string } | { readonly type: 'leave' };
type ServerMessage = { readonly type: 'said'; readonly text: string };

declare const clientSchema: StandardSchemaV1<unknown, ClientMessage>;
declare const numberSchema: StandardSchemaV1<unknown, number>;

export class Chat extends Service<ClientMessage, ServerMessage> {
  override readonly messageSchema = clientSchema;

  override onMessage(client: Client, message: ClientMessage): void {
    if (message.type === 'say') this.send(client.id, { type: 'said', text: message.text });
    this.broadcast({ type: 'said', text: 'x' }, { except: client.id });
    this.publish('room', { type: 'said', text: 'x' });
    this.sendToUser('ann', { type: 'said', text: 'x' });
    // @ts-expect-error a typed service sends only its server type
    this.send(client.id, 'plain text');
    // @ts-expect-error not a ServerMessage
    this.broadcast({ type: 'shout', text: 'x' });
    // @ts-expect-error text must be a string
    this.publish('room', { type: 'said', text: 1 });
    // @ts-expect-error a Buffer is not a ServerMessage
    this.sendToUser('ann', Buffer.from('x'));
  }
}

export class JsonOnly extends Service<ClientMessage, ServerMessage> {
  override readonly messageFormat = 'json';
}

export class WrongFormat extends Service<ClientMessage, ServerMessage> {
  // @ts-expect-error only 'json' is a message format
  override readonly messageFormat = 'xml';
}

export class WrongSchema extends Service<ClientMessage, ServerMessage> {
  // @ts-expect-error the schema's output must be the client message type
  override readonly messageSchema = numberSchema;
}

export class WrongHandler extends Service<ClientMessage, ServerMessage> {
  override readonly messageFormat = 'json';
  // @ts-expect-error onMessage receives the client message type, not a number
  override onMessage(_client: Client, _message: number): void {}
}

/** The untyped form is unchanged: strings and Buffers in, any OutgoingData out. */
export class Echo extends Service {
  override onMessage(client: Client, data: string | Buffer): void {
    this.send(client.id, data);
    this.send(client.id, { any: ['json', 1] });
    this.broadcast('text');
    // @ts-expect-error still no functions
    this.send(client.id, () => 1);
  }
}
