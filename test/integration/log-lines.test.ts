/**
 * What an operator reads: the CLI's log lines, from every process, at debug
 * (where the most fields are), carry each key once; a service that cannot
 * load is one clear line at the default level, its stack only at debug.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { duplicateKeys, topLevelKeys } from '../helpers/json-keys';
import { CLI, spawnScript, stopSpawned } from '../helpers/spawned';

afterEach(stopSpawned);

function jsonLines(lines: readonly string[]): string[] {
  return lines.filter((line) => line.startsWith('{'));
}

test('the helper sees a repeated key', () => {
  expect(topLevelKeys('{"a":1,"b":{"a":2,"c":[{"a":3}]},"d":"x,\\"a\\":1"}')).toEqual(['a', 'b', 'd']);
  expect(duplicateKeys('{"role":"master","pid":1,"pid":2}')).toEqual(['pid']);
});

test('no log line of any process carries a key twice', async () => {
  const cli = spawnScript(CLI, ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'debug']);
  const ready = await cli.line(/^switchyard listening on /);
  await cli.line(/"msg":"switchyard is ready"/);
  // Each child logs (at debug) the SIGINT a terminal's Ctrl-C would send it: lines from every role.
  const port = Number(/:(\d+) /.exec(ready)?.[1]);
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { processes: { kind: string; pid: number }[] };
  const children = health.processes.filter((entry) => entry.kind !== 'master');
  for (const child of children) process.kill(child.pid, 'SIGINT');
  await cli.line(/"role":"worker".*"msg":"SIGINT ignored/);
  await cli.line(/"role":"service".*"msg":"SIGINT ignored/);
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
  const lines = jsonLines(cli.stdout);
  const roles = new Set(lines.map((line) => (JSON.parse(line) as { role: string }).role));
  expect([...roles].sort()).toEqual(['master', 'service', 'worker']);
  expect(lines.filter((line) => duplicateKeys(line).length > 0)).toEqual([]);
  // The lines about a child still name it: as childPid.
  const forked = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'worker forked');
  expect(forked).toMatchObject({ role: 'master', pid: expect.any(Number), childPid: expect.any(Number) });
}, 60000);

test('service lines through this.log carry the handler\'s client, console output becomes JSON lines, connections and HTTP requests are logged at debug', async () => {
  const fixture = path.join(__dirname, '..', 'fixtures', 'logging.ts');
  const cli = spawnScript(CLI, ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'debug', '--service', `logging=${fixture}`]);
  const ready = await cli.line(/^switchyard listening on /);
  const port = Number(/:(\d+) /.exec(ready)?.[1]);
  expect((await fetch(`http://127.0.0.1:${port}/healthz?token=secret`)).status).toBe(200);
  const socket = new WebSocket(`ws://127.0.0.1:${port}/logging`);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const answered = new Promise((resolve) => socket.once('message', resolve));
  socket.send('hi');
  await answered;
  socket.close(1000);
  await cli.line(/"msg":"client disconnected"/);
  await cli.line(/"msg":"after await"/);
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);

  // Nothing on stdout but JSON lines and the one ready line.
  expect(cli.stdout.filter((line) => line !== '' && !line.startsWith('{') && !line.startsWith('switchyard listening on '))).toEqual([]);
  const lines = jsonLines(cli.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
  const one = (msg: string): Record<string, unknown> => {
    const found = lines.filter((line) => line.msg === msg);
    expect(found).toHaveLength(1);
    return found[0] as Record<string, unknown>;
  };
  const connected = one('client connected');
  expect(connected).toMatchObject({ role: 'worker', service: 'logging', path: '/logging', address: '127.0.0.1', client: expect.any(String) });
  expect(one('client disconnected')).toMatchObject({ role: 'worker', service: 'logging', client: connected.client, code: 1000 });
  expect(one('handled')).toMatchObject({ role: 'service', service: 'logging', level: 30, text: 'hi', client: connected.client });
  // After an await the lane has moved on: no client, rather than perhaps another's.
  expect(one('after await')).not.toHaveProperty('client');
  expect(one('console says hi')).toMatchObject({ role: 'service', level: 30, console: 'log', client: connected.client });
  // The access line has the path without its query string.
  expect(one('http request')).toMatchObject({ role: 'worker', method: 'GET', path: '/healthz', status: 200, address: '127.0.0.1', ms: expect.any(Number) });
}, 60000);

describe('a service that cannot load', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'sy-broken-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  test('is one clear line by default (name, path, cause), no stack; the stack at debug', async () => {
    const missing = path.join(folder, 'missing.js');
    const cli = spawnScript(CLI, ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--service', `broken=${missing}`]);
    expect(await cli.exited).toBe(1);
    const errors = jsonLines(cli.stdout).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
    expect(errors).toHaveLength(1);
    const line = JSON.parse(errors[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ role: 'master', service: 'broken', module: missing });
    expect(line.msg).toBe(`service "broken" failed to start: cannot load ${missing}: Cannot find module '${missing}'`);
    expect(errors[0]).not.toContain('"stack"');
    // The CLI's exit reason is one line too.
    expect(cli.stderr.filter((text) => text !== '')).toEqual([`switchyard: service "broken" failed to start: cannot load ${missing}: Cannot find module '${missing}'`]);

    const debug = spawnScript(CLI, ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'debug', '--service', `broken=${missing}`]);
    expect(await debug.exited).toBe(1);
    expect(jsonLines(debug.stdout).some((text) => text.includes('"stack"') && text.includes('missing.js'))).toBe(true);
  }, 60000);

  test('a module that does not export a Service says so, once', async () => {
    const wrong = path.join(folder, 'wrong.js');
    writeFileSync(wrong, 'module.exports = 42;\n');
    const cli = spawnScript(CLI, ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--service', `wrong=${wrong}`]);
    expect(await cli.exited).toBe(1);
    const errors = jsonLines(cli.stdout).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
    expect(errors.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([`service "wrong" failed to start: ${wrong} must default-export a class that extends Service`]);
  }, 60000);
});

test('--log-pretty: readable lines from every process through pino-pretty', async () => {
  const cli = spawnScript(CLI, ['start', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--log-level', 'debug', '--log-pretty']);
  const ready = await cli.line(/^switchyard listening on /);
  await cli.line(/switchyard is ready/);
  const port = Number(/:(\d+) /.exec(ready)?.[1]);
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { processes: { kind: string; pid: number }[] };
  for (const child of health.processes.filter((entry) => entry.kind !== 'master')) process.kill(child.pid, 'SIGINT');
  await cli.line(/DEBUG.*\(.*\): SIGINT ignored/);
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
  const logLines = cli.stdout.filter((line) => /^\[\d\d:\d\d:\d\d\.\d+\] [A-Z]+/.test(line));
  expect(logLines.some((line) => line.includes('INFO') && line.includes('switchyard is ready'))).toBe(true);
  // Not one JSON line: the children print pretty too.
  expect(cli.stdout.filter((line) => line.startsWith('{"level"'))).toEqual([]);
  expect(cli.stdout.filter((line) => / SIGINT ignored/.test(line)).length).toBeGreaterThanOrEqual(2);
}, 60000);
