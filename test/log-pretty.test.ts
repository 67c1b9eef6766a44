import { prettyInstalled } from '../src/log-pretty';
import type * as OptionsModule from '../src/options';

test('pino-pretty is found where installed, and not where it is missing', () => {
  expect(prettyInstalled()).toBe(true);
  expect(
    prettyInstalled(() => {
      throw Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' });
    }),
  ).toBe(false);
});

test('logPretty without pino-pretty installed is refused with an install hint, named by where it came from', () => {
  jest.isolateModules(() => {
    jest.doMock('../src/log-pretty', () => ({ PRETTY_MODULE: 'pino-pretty', prettyInstalled: () => false }));
    const { resolveOptions } = require('../src/options') as typeof OptionsModule;
    expect(() => resolveOptions({ logPretty: true })).toThrow('options.logPretty needs pino-pretty, which is not installed: npm install --save-dev pino-pretty');
    expect(() => resolveOptions({ logPretty: true }, { origins: { logPretty: { from: 'flag', flag: '--log-pretty' } } })).toThrow(
      '--log-pretty (flag) needs pino-pretty, which is not installed',
    );
    // Off (the default), it is never looked for.
    expect(resolveOptions({}).logPretty).toBe(false);
  });
});
