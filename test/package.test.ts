/**
 * What `npm pack` of the server would publish: the server only. No bench code
 * (a package of its own, packages/bench), no tests or their source maps, and
 * runtime dependencies that the server's own sources import.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

interface PackManifest {
  readonly name: string;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

interface PackageJson {
  readonly dependencies?: Readonly<Record<string, string>>;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Every file under `dir` (recursively) whose name ends in `.ts`. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(file) : entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** The packages that runtime code (not `import type`) in `src/` loads by name. */
function importedBySources(): Set<string> {
  const names = new Set<string>();
  // `require.resolve(` too: an ESM-only package (jose) is found that way and loaded with a native import().
  const pattern = /(?:^import (?!type )[^;]*? from|require(?:\.resolve)?\()\s*'((?:@[^/']+\/)?[^/.'][^/']*)/gm;
  for (const file of sources(path.join(ROOT, 'src'))) {
    for (const match of fs.readFileSync(file, 'utf8').matchAll(pattern)) names.add(match[1] as string);
  }
  return names;
}

let files: string[];
beforeAll(() => {
  // --ignore-scripts: list what is built now, without `prepack` rebuilding dist/ under other tests' feet.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
  const [manifest] = JSON.parse(out) as PackManifest[];
  expect(manifest?.name).toBe('switchyard');
  files = (manifest?.files ?? []).map((file) => file.path);
});

test('the server package holds the built server', () => {
  for (const file of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/services/examples/echo.js', 'public/index.html']) expect(files).toContain(file);
});

test('and the client library: CommonJS, ES module, types for both, the browser file the workers serve', () => {
  for (const file of ['dist/client/index.js', 'dist/client/index.mjs', 'dist/client/index.d.ts', 'dist/client/index.d.mts', 'dist/client/switchyard-client.js']) expect(files).toContain(file);
});

test('every entry point in `exports` (switchyard/testing included) is in the package', () => {
  const targets: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (typeof value === 'object' && value !== null) for (const inner of Object.values(value)) walk(inner);
  };
  const manifest = readJson<{ readonly exports: Readonly<Record<string, unknown>> }>(path.join(ROOT, 'package.json'));
  expect(Object.keys(manifest.exports)).toContain('./testing');
  walk(manifest.exports);
  const files_ = targets.filter((target) => !target.includes('*')).map((target) => target.replace(/^\.\//, ''));
  expect(files_).toContain('dist/testing/index.js');
  for (const file of files_) expect(files).toContain(file);
});

test('no bench code, no tests, no source maps of tests', () => {
  const offending = files.filter((file) =>
    file.startsWith('dist/bench/') || file.startsWith('packages/') || file.startsWith('bench/') || file.startsWith('test/') ||
    /(^|\/)(test|tests|__tests__)\//.test(file) || /\.test\.[cm]?[jt]s(\.map)?$/.test(file) || /\.test\.d\.ts$/.test(file));
  expect(offending).toEqual([]);
});

test('runtime dependencies are only packages the server itself loads', () => {
  const dependencies = Object.keys(readJson<PackageJson>(path.join(ROOT, 'package.json')).dependencies ?? {});
  const used = importedBySources();
  expect(dependencies.filter((name) => !used.has(name))).toEqual([]);
  // The bench's own dependencies that the server does not load stay out (hdr-histogram-js, autocannon, socket.io, …).
  const benchOnly = Object.keys(readJson<PackageJson>(path.join(ROOT, 'packages', 'bench', 'package.json')).dependencies ?? {}).filter((name) => !used.has(name));
  expect(benchOnly).toContain('hdr-histogram-js');
  expect(dependencies.filter((name) => benchOnly.includes(name))).toEqual([]);
});

interface Manifest {
  readonly license: string;
  readonly keywords?: readonly string[];
  readonly engines?: { readonly node?: string };
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly scripts: Readonly<Record<string, string>>;
}

const manifest = readJson<Manifest>(path.join(ROOT, 'package.json'));

test('a LICENSE that matches license ships with the package', () => {
  expect(files).toContain('LICENSE');
  expect(manifest.license).toBe('MIT');
  expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
});

test('keywords, supported Node versions, and optional peer dependencies', () => {
  expect(manifest.keywords).toEqual(expect.arrayContaining(['websocket', 'cluster']));
  // 20.6: module.register(), which tsx's hooks for import() of .ts and .mts need.
  expect(manifest.engines?.node).toBe('^20.6.0 || ^22.0.0 || >=24.0.0');
  const peers = Object.keys(manifest.peerDependencies ?? {});
  expect(peers.sort()).toEqual(['pino-pretty', 'ts-node', 'tsx']);
  // Each one is needed only by a feature that asks for it (.ts modules, --log-pretty): none is installed for users who do not.
  for (const peer of peers) expect([peer, manifest.peerDependenciesMeta?.[peer]?.optional]).toEqual([peer, true]);
  // The sources load them only where that feature is used, never at the top of a module every process runs.
  expect(importedBySources().has('pino-pretty')).toBe(false);
});

test('every shipped source map carries its sources (src/ is not shipped)', () => {
  const maps = files.filter((file) => file.endsWith('.js.map'));
  expect(maps.length).toBeGreaterThan(10);
  expect(files.filter((file) => file.startsWith('src/'))).toEqual([]);
  const withoutSources = maps.filter((file) => {
    const map = readJson<{ sources: string[]; sourcesContent?: (string | null)[] }>(path.join(ROOT, file));
    return map.sourcesContent?.length !== map.sources.length || map.sourcesContent.some((content) => typeof content !== 'string');
  });
  expect(withoutSources).toEqual([]);
});

test('the quick start stays true on a fresh clone: npm ci builds dist/ (the bench workspace\'s prepare), npm start runs it', () => {
  // Not the published package's own prepare: npm 11 lists it as an unapproved install script on every install of the package.
  expect(manifest.scripts.prepare).toBeUndefined();
  expect(manifest.scripts.prepack).toBe('npm run build');
  const bench = readJson<Manifest>(path.join(ROOT, 'packages', 'bench', 'package.json'));
  expect(bench.scripts.prepare).toBe('npm run --prefix ../.. build && npm run build');
  expect(manifest.scripts.start).toBe('node dist/cli.js start');
});
