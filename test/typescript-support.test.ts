import { execArgvFor, isTypeScriptPath, typeScriptEnv, typeScriptLoader } from '../src/typescript-support';

describe('typescript-support', () => {
  it('recognises TypeScript module paths, not declaration files', () => {
    for (const file of ['a.ts', 'a.mts', 'a.cts', 'a.tsx']) expect(isTypeScriptPath(file)).toBe(true);
    for (const file of ['a.js', 'a.mjs', 'a.d.ts', 'ts']) expect(isTypeScriptPath(file)).toBe(false);
  });

  it('prefers tsx when it is installed (it is a devDependency here) and needs no environment for it', () => {
    expect(typeScriptLoader()).toBe('tsx');
    expect(execArgvFor('/x/service.ts')).toEqual(['--require', require.resolve('tsx/cjs')]);
    expect(typeScriptEnv()).toEqual({});
  });

  it('adds nothing for a JavaScript entry', () => {
    expect(execArgvFor('/x/service.js')).toEqual([]);
  });
});
