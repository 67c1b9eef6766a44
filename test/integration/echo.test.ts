import { closeAll, connect, startCluster } from '../helpers/cluster';

afterEach(closeAll);

test('echo round-trips text and binary frames', async () => {
  const { port } = await startCluster();
  const client = await connect(port, '/echo');
  client.socket.send('hello');
  client.socket.send(Buffer.from([0, 1, 2, 255]));
  const [text, binary] = await client.received(2);
  expect(text).toBe('hello');
  expect(Buffer.isBuffer(binary)).toBe(true);
  expect([...(binary as Buffer)]).toEqual([0, 1, 2, 255]);
});
