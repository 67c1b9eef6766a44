/**
 * One jest run over the server and the bench package, in two projects:
 * `unit` (modules driven directly, no processes) and `integration` (anything
 * that forks a cluster or a CLI). `npm test` runs both; `--selectProjects`
 * runs one (`npm run test:unit`, `npm run test:integration`).
 *
 * The bench package's tests load the server as any user of the package does,
 * by name, so from its build (`dist/`, made by `npm ci` or `npm run build`):
 * a service module in the bench must extend the same `Service` class as the
 * cluster that loads it, which a mapping to `src/` inside jest cannot give the
 * processes the cluster forks.
 */

/**
 * Tests that fork real processes (whole clusters, the CLI, npm, the bench
 * against a cluster), as folders (ending in `/`) or files under the root.
 */
const INTEGRATION = [
  'test/integration/',
  'test/cli.test.ts',
  'test/bench-command.test.ts',
  'test/package.test.ts',
  'packages/bench/test/integration/',
];

// Child processes that run TypeScript sources go through tsx, which applies
// tsconfig `paths`; the root's map `switchyard` to src/ for the type check only.
process.env.TSX_TSCONFIG_PATH ??= require('node:path').join(__dirname, 'test', 'tsx.tsconfig.json');

/** @type {import('jest').Config} */
const shared = {
  rootDir: __dirname,
  roots: ['<rootDir>/test', '<rootDir>/packages/bench/test'],
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...INTEGRATION.map((p) => `<rootDir>/${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)],
    },
    {
      ...shared,
      displayName: 'integration',
      // node:cluster's scheduling is frozen per process: round-robin in every jest worker (the file says why).
      setupFiles: ['<rootDir>/test/helpers/cluster-policy.ts'],
      testMatch: INTEGRATION.map((p) => (p.endsWith('/') ? `<rootDir>/${p}**/*.test.ts` : `<rootDir>/${p}`)),
    },
  ],
  testTimeout: 30000,
  // Integration tests fork real processes; two jest workers on two cores is the most this machine serves well.
  maxWorkers: 2,
};
