import { Child, type ChildExit } from '../../src/master/child';
import { createLogger } from '../../src/logger';
import { isServiceToMaster, type MasterToService, type ServiceToMaster } from '../../src/protocol';
import { FakeProcess } from './fake-process';

const log = createLogger('silent', 'master');
const limits = { maxMessages: 100, maxBytes: 1 << 20 };

function child(process: FakeProcess) {
  const messages: ServiceToMaster[] = [];
  const exits: ChildExit[] = [];
  const handle = new Child<MasterToService, ServiceToMaster>(process, 'service-a.1', limits, log, {
    guard: isServiceToMaster,
    onMessage: (message) => messages.push(message),
    onExit: (exit) => exits.push(exit),
  });
  return { handle, messages, exits };
}

test('lifecycle: starting → online → stopping → dead; a graceful stop sends the stop message once', async () => {
  const process = new FakeProcess('ignore');
  const { handle, exits } = child(process);
  expect(handle.state).toBe('starting');
  expect(handle.instance).toBe('service-a.1');
  handle.markOnline();
  expect(handle.state).toBe('online');
  const stopped = handle.stop({ type: 'stop', mode: 'shutdown' }, Date.now() + 5000);
  expect(handle.state).toBe('stopping');
  // Marking online does not undo a stop.
  handle.markOnline();
  expect(handle.state).toBe('stopping');
  await process.received('stop');
  process.exit(0);
  expect(await stopped).toEqual({ code: 0, signal: null });
  expect(handle.state).toBe('dead');
  expect(handle.isAlive).toBe(false);
  expect(exits).toEqual([{ code: 0, signal: null }]);
  expect(process.signals).toEqual([]);
  expect(process.sent.filter((m) => m.type === 'stop')).toHaveLength(1);
});

test('a process that does not exit by the deadline is SIGKILLed, and only it', async () => {
  const process = new FakeProcess('ignore');
  const bystander = new FakeProcess('ignore');
  const { handle } = child(process);
  child(bystander);
  const exit = await handle.stop({ type: 'stop', mode: 'shutdown' }, Date.now() + 30);
  expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
  expect(process.signals).toEqual(['SIGKILL']);
  expect(bystander.signals).toEqual([]);
});

test('valid messages reach the handler; malformed ones are counted and dropped', () => {
  const process = new FakeProcess();
  const { handle, messages } = child(process);
  process.reply({ type: 'started' }, { type: 'nonsense' }, { type: 'metrics', qid: 'x' });
  process.emit('message', 'not a batch');
  expect(messages).toEqual([{ type: 'started' }]);
  expect(handle.rejectedMessages).toBe(3);
});

test('after exit: nothing more is delivered, kill and stop are no-ops', async () => {
  const process = new FakeProcess();
  const { handle } = child(process);
  process.exit(1);
  await handle.exited;
  expect(handle.deliver({ type: 'metricsRequest', qid: 1 })).toBe(false);
  handle.kill('SIGKILL');
  expect(process.signals).toEqual([]);
  expect(await handle.stop({ type: 'stop', mode: 'shutdown' }, Date.now() + 1000)).toEqual({ code: 1, signal: null });
});

test('a child error event is logged, never thrown', () => {
  const process = new FakeProcess();
  child(process);
  expect(() => process.emit('error', new Error('spawn failed'))).not.toThrow();
});
