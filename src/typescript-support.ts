/**
 * Lets the cluster run from TypeScript sources (development, tests) and load
 * services written in TypeScript, through ts-node in transpile-only mode.
 * ts-node is an optional peer dependency: only `.ts` modules need it.
 */
import { SwitchyardError } from './errors';

let registered = false;

export function isTypeScriptPath(file: string): boolean {
  return /\.(?:c|m)?tsx?$/.test(file) && !file.endsWith('.d.ts');
}

function resolveTsNode(entry: string): string {
  try {
    return require.resolve(entry);
  } catch (cause) {
    throw new SwitchyardError('SY_ERR_TS_NODE_MISSING', 'loading .ts modules needs ts-node: npm install --save-dev ts-node typescript@5', { cause });
  }
}

/** Environment for children that run `.ts` code: fast, CommonJS output. */
export const TS_NODE_ENV: Readonly<Record<string, string>> = {
  TS_NODE_TRANSPILE_ONLY: 'true',
  TS_NODE_COMPILER_OPTIONS: JSON.stringify({ module: 'commonjs' }),
};

/** `execArgv` for a child whose entry module is `entry`. */
export function execArgvFor(entry: string): string[] {
  return isTypeScriptPath(entry) ? ['-r', resolveTsNode('ts-node/register/transpile-only')] : [];
}

/** Makes `require()` of `.ts` files work in this process. */
export function registerTypeScript(): void {
  if (registered || process.execArgv.some((arg) => arg.includes('ts-node'))) return;
  // ts-jest or ts-node itself may already handle .ts here.
  if (require.extensions['.ts'] !== undefined) return;
  const tsNode = require(resolveTsNode('ts-node')) as { register(options: object): unknown };
  tsNode.register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
  registered = true;
}
