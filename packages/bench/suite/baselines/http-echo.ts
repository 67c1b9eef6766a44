/** Baseline for HTTP requests: a plain node:http server that answers with the request body. */
import * as http from 'node:http';
import { reportListening } from './listen';

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    response.end(body);
  });
});
server.listen({ port: 0, host: '127.0.0.1' }, () => reportListening(server));
