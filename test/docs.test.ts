import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const DOCS = path.join(ROOT, 'docs');
const pages = ['README.md', ...readdirSync(DOCS).filter((file) => file.endsWith('.md')).map((file) => path.join('docs', file))];

test('the README keeps the two quick-start commands and stays a front page', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  expect(readme).toContain('npm ci && npm start');
  expect(readme).toContain('npm ci && npm test');
  // Reference tables live in docs/; the front page stays near 15 KB.
  expect(Buffer.byteLength(readme)).toBeLessThan(16 * 1024);
});

test.each(pages)('every relative link in %s points at a file that exists', (page) => {
  const text = readFileSync(path.join(ROOT, page), 'utf8');
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string).filter((link) => !/^[a-z]+:/.test(link) && !link.startsWith('#'));
  for (const link of links) {
    const target = path.resolve(path.dirname(path.join(ROOT, page)), link.split('#')[0] as string);
    expect([link, existsSync(target)]).toEqual([link, true]);
  }
});
