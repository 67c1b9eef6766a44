// Builds the client library (src/client/, `switchyard/client`) beside tsc's
// CommonJS output and declarations in dist/client/:
//   index.mjs               the ES module for bundlers and Node's `import`
//   index.d.mts             its declarations (re-exports tsc's index.d.ts)
//   switchyard-client.js    the same module minified: what workers serve to pages at /switchyard-client.js
// and returns the minified and gzipped sizes (the README states them).
// Run by `npm run build` after tsc; tests that load the served file call buildClient() first.
'use strict';
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const ROOT = path.join(__dirname, '..');
const ENTRY = path.join(ROOT, 'src', 'client', 'index.ts');
const BROWSER_FILE = 'switchyard-client.js';

/** Writes `text` to `file` through a temporary name: a worker reading the file never sees half of it. */
function writeAtomically(file, text) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

async function bundle(minify) {
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    minify,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** Builds into `outdir` (default dist/client); resolves with `{ minified, gzipped }` in bytes. */
async function buildClient(outdir = path.join(ROOT, 'dist', 'client')) {
  fs.mkdirSync(outdir, { recursive: true });
  let plain;
  let minified;
  try {
    [plain, minified] = await Promise.all([bundle(false), bundle(true)]);
  } finally {
    // esbuild keeps a service child process for later builds: a test that builds would leave it behind
    // (lifecycle.test.ts, which checks that no child outlives a cluster, saw it in a CI run).
    await esbuild.stop();
  }
  writeAtomically(path.join(outdir, 'index.mjs'), plain);
  writeAtomically(path.join(outdir, 'index.d.mts'), "export * from './index.js';\n");
  writeAtomically(path.join(outdir, BROWSER_FILE), minified);
  return { minified: Buffer.byteLength(minified), gzipped: zlib.gzipSync(minified, { level: 9 }).length };
}

module.exports = { buildClient, BROWSER_FILE };

if (require.main === module) {
  buildClient().then(
    (sizes) => console.log(`dist/client/${BROWSER_FILE}: ${sizes.minified} bytes minified, ${sizes.gzipped} gzipped`),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
