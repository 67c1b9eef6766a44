/**
 * Compile-time tests of the typed client (tsc over test/ checks them): the
 * same message types as the service, the other way round.
 */
import { connect } from '../../src/client';

type ServerMessage = { readonly type: 'said'; readonly text: string };
type ClientMessage = { readonly type: 'say'; readonly text: string };

const chat = connect<ServerMessage, ClientMessage>('/chat', { messageFormat: 'json' });
chat.send({ type: 'say', text: 'hi' });
chat.on('message', (message: ServerMessage) => message.text.length);
chat.on('rejected', (info) => info.code.length + (info.issues?.length ?? 0));
// @ts-expect-error send takes the client message type
chat.send('plain text');
// @ts-expect-error not a ClientMessage
chat.send({ type: 'shout' });
// @ts-expect-error message events carry the server message type
chat.on('message', (message: string) => message.length);
// @ts-expect-error types alone do not parse: messageFormat 'json' is required
connect<ServerMessage, ClientMessage>('/chat');
// @ts-expect-error nor is another format accepted
connect<ServerMessage, ClientMessage>('/chat', { messageFormat: 'text' });

// Untyped, unchanged: strings or ArrayBuffers in, anything out.
const echo = connect('/echo');
echo.send('text');
echo.send({ any: 1 });
echo.on('message', (data: string | ArrayBuffer) => data);
// @ts-expect-error an untyped message is a string or an ArrayBuffer, not a parsed value
echo.on('message', (data: ServerMessage) => data.text);
