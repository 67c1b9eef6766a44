import { execArgvFor, isTypeScriptPath, noLoaderError, nodeTypeStripping, requireTypeScriptLoader, typeScriptEnv, typeScriptLoader, TS_LOADER_ENV, TS_NODE_ENV } from '../src/typescript-support';

function withForced<T>(value: string | undefined, run: () => T): T {
  const before = process.env[TS_LOADER_ENV];
  if (value === undefined) delete process.env.SWITCHYARD_TS_LOADER;
  else process.env[TS_LOADER_ENV] = value;
  try {
    return run();
  } finally {
    if (before === undefined) delete process.env.SWITCHYARD_TS_LOADER;
    else process.env[TS_LOADER_ENV] = before;
  }
}

describe('typescript-support', () => {
  it('recognises TypeScript module paths, not declaration files', () => {
    for (const file of ['a.ts', 'a.mts', 'a.cts', 'a.tsx']) expect(isTypeScriptPath(file)).toBe(true);
    for (const file of ['a.js', 'a.mjs', 'a.d.ts', 'ts']) expect(isTypeScriptPath(file)).toBe(false);
  });

  it('prefers tsx when it is installed (it is a devDependency here) and needs no environment for it', () => {
    withForced(undefined, () => {
      expect(typeScriptLoader()).toBe('tsx');
      expect(execArgvFor('/x/service.ts')).toEqual(['--require', require.resolve('tsx/cjs')]);
      expect(typeScriptEnv('/x/service.ts')).toEqual({});
    });
  });

  it('adds nothing for a JavaScript entry', () => {
    expect(execArgvFor('/x/service.js')).toEqual([]);
  });

  it('follows SWITCHYARD_TS_LOADER for user modules, and gives ts-node its settings', () => {
    withForced('ts-node', () => {
      expect(typeScriptLoader()).toBe('ts-node');
      expect(typeScriptEnv()).toEqual(TS_NODE_ENV);
      // The entry (the sources) still goes through tsx.
      expect(execArgvFor('/x/service-main.ts', ['/x/a.ts'])).toEqual(['--require', require.resolve('tsx/cjs')]);
    });
    withForced('none', () => {
      expect(typeScriptLoader()).toBeUndefined();
      expect(() => requireTypeScriptLoader('/x/a.ts')).toThrow(expect.objectContaining({ code: 'SY_ERR_TS_NODE_MISSING', message: expect.stringContaining('SWITCHYARD_TS_LOADER=none') }));
    });
  });

  it('forces type stripping only where this Node has it, and gives the children its flag where it is behind one', () => {
    withForced('strip', () => {
      const stripping = nodeTypeStripping();
      expect(typeScriptLoader()).toBe(stripping === undefined ? undefined : 'strip');
      const argv = execArgvFor('/x/service-main.js', ['/x/a.ts']);
      expect(argv).toEqual(stripping === 'flag' ? ['--experimental-strip-types'] : []);
    });
  });

  it('refuses an unknown SWITCHYARD_TS_LOADER with the values it takes, and the master forks anyway', () => {
    withForced('esbuild', () => {
      expect(() => typeScriptLoader()).toThrow(expect.objectContaining({ code: 'SY_ERR_INVALID_OPTION', message: 'SWITCHYARD_TS_LOADER must be tsx, ts-node, strip or none, got "esbuild"' }));
      expect(execArgvFor('/x/service-main.js', ['/x/a.ts'])).toEqual([]);
    });
  });

  it('names the file, what to install and, on a Node without type stripping, the version that has it', () => {
    const error = noLoaderError('/x/a.ts');
    expect(error).toMatchObject({ code: 'SY_ERR_TS_NODE_MISSING', message: expect.stringContaining('/x/a.ts') });
    expect(error.message).toContain('npm install --save-dev tsx');
    expect(error.message.includes('Node 22.6+')).toBe(nodeTypeStripping() === undefined);
  });
});
