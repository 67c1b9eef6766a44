/**
 * The workers of a real cluster serve the browser build of the client at
 * /switchyard-client.js, with static files off too, and it is the file the
 * build made (scripts/build-client.js, run first).
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { CLIENT_SCRIPT_FILE } from '../../src/worker/client-script';
import { closeAll, startCluster } from '../helpers/cluster';

interface BuildScript {
  buildClient(): Promise<{ minified: number; gzipped: number }>;
}

beforeAll(async () => {
  await (require('../../scripts/build-client.js') as BuildScript).buildClient();
});

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

test('served by every worker whatever staticDir is, as the built module', async () => {
  const { port } = await startCluster({ staticDir: false, workers: 1 });
  const answer = await get(port, '/switchyard-client.js');
  expect(answer.status).toBe(200);
  expect(answer.type).toBe('text/javascript; charset=utf-8');
  expect(answer.body).toBe(readFileSync(CLIENT_SCRIPT_FILE, 'utf8'));
  expect(answer.body).toMatch(/export\s*\{[^}]*\bconnect\b/);
  expect((await get(port, '/other.js')).status).toBe(404);
});
