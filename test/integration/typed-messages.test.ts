/**
 * A typed service in a real cluster: its messages are parsed and checked by
 * its Standard Schema in the service process; a message that is not JSON
 * text, or that the schema rejects, gets the SY_ERR_INVALID_MESSAGE reply,
 * never reaches onMessage, leaves the client connected, and is counted in
 * /metrics by reason.
 */
import * as path from 'node:path';
import WebSocket from 'ws';
import { connect as connectClient, type RejectedInfo, type WebSocketConstructor } from '../../src/client';
import { closeAll, connect, startCluster, FIXTURES } from '../helpers/cluster';
import { parsePrometheus, total } from '../helpers/prometheus';
import type { SayMessage } from '../helpers/tiny-schema';
import type { Said } from '../fixtures/typed-echo';

let port = 0;

// One cluster for the file: the first test counts the only invalid messages before the second sends its own.
beforeAll(async () => {
  ({ port } = await startCluster({ workers: 1, services: { typed: path.join(FIXTURES, 'typed-echo.ts') } }));
});
afterAll(closeAll);

test('valid messages reach onMessage parsed; invalid ones get the error reply, are counted, and the client stays', async () => {
  const client = await connect(port, '/typed');
  client.sendJson({ type: 'say', text: 'hi' });
  client.socket.send('not json');
  client.socket.send(Buffer.from('{"type":"ping"}'));
  client.sendJson({ type: 'say', text: '' });
  client.sendJson({ type: 'ping' });
  const replies = (await client.received(5)).map((m) => JSON.parse(String(m)) as Record<string, unknown>);
  expect(replies[0]).toEqual({ type: 'said', text: 'hi' });
  expect(replies[1]).toEqual({ $error: { code: 'SY_ERR_INVALID_MESSAGE', message: 'message is not valid JSON' } });
  expect(replies[2]).toMatchObject({ $error: { code: 'SY_ERR_INVALID_MESSAGE' } });
  expect(replies[3]).toEqual({
    $error: { code: 'SY_ERR_INVALID_MESSAGE', message: "message does not match the service's schema (1 issue)", issues: [{ message: 'text must have 1 to 100 characters', path: ['text'] }] },
  });
  // Only the two valid messages reached the handler, and the replies kept the messages' order.
  expect(replies[4]).toEqual({ type: 'pong', seen: 2 });
  expect(client.closeCode).toBeUndefined();

  const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  expect(total(samples, 'switchyard_invalid_messages_total', { service: 'typed', reason: 'json' })).toBe(2);
  expect(total(samples, 'switchyard_invalid_messages_total', { service: 'typed', reason: 'schema' })).toBe(1);
  expect(total(samples, 'switchyard_handler_errors_total', { service: 'typed' })).toBe(0);
});

test('the typed client: sends ClientMessage as JSON, gets ServerMessage parsed, and a refusal as a rejected event', async () => {
  const client = connectClient<Said, SayMessage>(`ws://127.0.0.1:${port}/typed`, { WebSocket: WebSocket as unknown as WebSocketConstructor, messageFormat: 'json', reconnect: false });
  try {
    const said = new Promise<Said>((resolve) => client.on('message', resolve));
    const rejected = new Promise<RejectedInfo>((resolve) => client.on('rejected', resolve));
    client.send({ type: 'say', text: 'typed' });
    expect(await said).toEqual({ type: 'said', text: 'typed' });
    client.send({ type: 'say', text: 'x'.repeat(101) });
    expect(await rejected).toEqual({ code: 'SY_ERR_INVALID_MESSAGE', message: "message does not match the service's schema (1 issue)", issues: [{ message: 'text must have 1 to 100 characters', path: ['text'] }] });
    expect(client.state).toBe('open');
  } finally {
    client.close();
  }
});
