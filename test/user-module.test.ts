import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDefaultExport, moduleFile } from '../src/user-module';

describe('moduleFile', () => {
  it('resolves a path against cwd and reads file: URLs, as strings or URL objects', () => {
    expect(moduleFile('svc/chat.js', '/app')).toBe(path.resolve('/app', 'svc/chat.js'));
    expect(moduleFile('/abs/chat.js', '/app')).toBe('/abs/chat.js');
    expect(moduleFile('file:///abs/chat%20room.mjs', '/app')).toBe('/abs/chat room.mjs');
    expect(moduleFile(new URL('file:///abs/chat.mjs'), '/app')).toBe('/abs/chat.mjs');
    expect(moduleFile(pathToFileURL('/abs/x.ts').href, '/app')).toBe('/abs/x.ts');
  });

  it('gives undefined for what is no module path: other URL schemes, an empty string, other types', () => {
    for (const value of [new URL('https://example.com/chat.js'), '', 42, null, undefined, {}, 'file://host/share/x.js']) expect(moduleFile(value, '/app')).toBeUndefined();
  });
});

describe('loadDefaultExport', () => {
  it("gives a CommonJS module's module.exports", async () => {
    // jest has no dynamic import(): the loader falls back to require() there, as it must.
    const exported = await loadDefaultExport(path.join(__dirname, 'fixtures', 'modules', 'cjs-echo.cjs'));
    expect(typeof exported).toBe('function');
    expect((exported as { name: string }).name).toBe('CjsEcho');
  });
});
