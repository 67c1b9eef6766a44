import * as http from 'node:http';
import { closeAll, connect, startCluster } from '../helpers/cluster';

afterEach(closeAll);

function get(port: number, target: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: target, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body }));
    }).on('error', reject);
  });
}

test('with the chat service, workers serve the page and service paths still belong to the services', async () => {
  const { port } = await startCluster();
  const page = await get(port, '/');
  expect(page.status).toBe(200);
  expect(page.type).toBe('text/html; charset=utf-8');
  expect(page.body).toContain('<script type="module" src="chat.js"></script>');
  expect((await get(port, '/chat.js')).type).toBe('text/javascript; charset=utf-8');
  expect((await get(port, '/chat.css')).type).toBe('text/css; charset=utf-8');
  // Static files never shadow a service path.
  expect((await get(port, '/chat')).status).toBe(426);
  expect((await get(port, '/echo/')).status).toBe(426);
  expect((await get(port, '/../package.json')).status).toBe(404);
  const client = await connect(port, '/chat');
  await client.json((message) => message.type === 'welcome');
});

test('staticDir: false serves nothing', async () => {
  const { port } = await startCluster({ staticDir: false });
  expect((await get(port, '/')).status).toBe(404);
  expect((await get(port, '/chat')).status).toBe(426);
});
