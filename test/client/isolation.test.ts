/**
 * src/client/ is what a browser bundle holds: it imports nothing from the
 * server (no relative import out of the folder) and no package at all (the
 * `ws` fallback is a computed dynamic import, loaded only in Node).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const FOLDER = path.join(__dirname, '..', '..', 'src', 'client');

test('every import in src/client stays inside src/client', () => {
  const files = fs.readdirSync(FOLDER).filter((name) => name.endsWith('.ts'));
  expect(files).toContain('index.ts');
  const offending: string[] = [];
  for (const name of files) {
    const text = fs.readFileSync(path.join(FOLDER, name), 'utf8');
    for (const match of text.matchAll(/(?:from|import\(|require\()\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1] as string;
      if (!specifier.startsWith('./')) offending.push(`${name}: ${specifier}`);
    }
  }
  expect(offending).toEqual([]);
});
