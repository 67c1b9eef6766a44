import * as path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseCli } from '../src/cli-args';
import { bundledServices, resolveOptions } from '../src/options';
import { messageOf } from './helpers/option-errors';

test('the string form is one instance sharded by client; the object form sets instances and shardBy', () => {
  const options = resolveOptions({
    cwd: '/srv/app',
    services: { chat: { module: './chat.js', instances: 4, shardBy: 'query:room' }, echo: './echo.js', plain: { module: '/abs/p.js' } },
  });
  expect(options.services).toEqual({ chat: '/srv/app/chat.js', echo: '/srv/app/echo.js', plain: '/abs/p.js' });
  expect(options.shards).toEqual({
    chat: { instances: 4, shardBy: { kind: 'query', name: 'room' } },
    echo: { instances: 1, shardBy: { kind: 'client' } },
    plain: { instances: 1, shardBy: { kind: 'client' } },
  });
  expect(Object.isFrozen(options.shards)).toBe(true);
  expect(resolveOptions().shards).toEqual({ echo: { instances: 1, shardBy: { kind: 'client' } }, chat: { instances: 1, shardBy: { kind: 'client' } } });
});

test.each<[string, unknown, string]>([
  ['instances 0', { chat: { module: './c.js', instances: 0 } }, 'options.services.chat.instances must be an integer from 1 to 64, got 0'],
  ['instances type', { chat: { module: './c.js', instances: '2' } }, 'options.services.chat.instances must be an integer from 1 to 64, got "2"'],
  ['shardBy', { chat: { module: './c.js', shardBy: 'cookie:x' } }, 'options.services.chat.shardBy must be client, query:<name>, header:<name> or user, got "cookie:x"'],
  ['shardBy user without an authenticator', { chat: { module: './c.js', instances: 2, shardBy: 'user' } }, 'options.services.chat.shardBy "user" needs options.authenticate or options.jwt'],
  ['module', { chat: { instances: 2 } }, 'options.services.chat.module must be a module path, got undefined'],
  ['unknown field', { chat: { module: './c.js', instance: 2 } }, 'options.services.chat.instance is not a known field (module, instances, shardBy, node, nodes)'],
  ['number', { chat: 5 }, 'options.services.chat must be a module path or { module, instances, shardBy }, got 5'],
])('rejects a bad %s with a dotted name', (_name, services, message) => {
  expect(messageOf({ services })).toBe(message);
});

test('--instances and --shard-by give a service the object form, over the bundled services when none is named', async () => {
  const cwd = '/work/app';
  const parsed = await parseCli(['start', '--service', 'chat=./chat.js', '--instances', 'chat=2', '--shard-by', 'chat=query:room'], cwd, {});
  expect(parsed).toMatchObject({ command: 'start', options: { cwd, services: { chat: { module: './chat.js', instances: 2, shardBy: 'query:room' } } } });
  const bundled = await parseCli(['start', '--instances', 'chat=2'], cwd, {});
  expect(bundled).toMatchObject({ command: 'start', options: { cwd, services: { echo: bundledServices().echo, chat: { module: bundledServices().chat, instances: 2 } } } });
  await expect(parseCli(['start', '--instances', 'nope=2'], cwd, {})).rejects.toThrow('--instances nope: there is no service named "nope"');
  await expect(parseCli(['start', '--instances', 'chat'], cwd, {})).rejects.toThrow('--instances takes name=value, got "chat"');
  // Not a number: passed on for the one resolver to refuse by its dotted name.
  const wrong = await parseCli(['start', '--instances', 'chat=two'], cwd, {});
  if (wrong.command !== 'start') throw new Error('unreachable');
  expect(() => resolveOptions(wrong.options, { origins: wrong.origins })).toThrow(/services\.chat\.instances.*"two"/);
});

test('a config file takes the object form; its module path resolves against the file folder', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  const file = path.join(folder, 'switchyard.json');
  writeFileSync(file, JSON.stringify({ services: { chat: { module: './chat.js', instances: 3, shardBy: 'header:x-room' } } }));
  const parsed = await parseCli(['start', '--config', file, '--instances', 'chat=2'], '/elsewhere', {});
  expect(parsed).toMatchObject({
    command: 'start',
    options: { cwd: '/elsewhere', services: { chat: { module: path.join(folder, 'chat.js'), instances: 2, shardBy: 'header:x-room' } } },
  });
  if (parsed.command !== 'start') throw new Error('unreachable');
  expect(resolveOptions(parsed.options).shards.chat).toEqual({ instances: 2, shardBy: { kind: 'header', name: 'x-room' } });
});
