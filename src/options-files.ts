/**
 * The options that name files and folders: `staticDir` (checked to exist and
 * not to expose the system) and the workers' modules (`authenticate`, `http`).
 */
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { invalid, isFile, isFolder, MODULE_PATH } from './options-check';
import { bundledPublicDir } from './options-defaults';
import type { ResolvedOptions } from './options';
import { moduleFile } from './user-module';

/** `staticDir`: an existing folder, absolute, or false; by default the bundled page when the bundled chat runs. */
export function resolveStaticDir(value: unknown, cwd: string, services: Readonly<Record<string, string>>): string | false {
  if (value === false) return false;
  if (value === undefined) {
    // A build or package without public/ still runs its services; it just has no page.
    return 'chat' in services && isFolder(bundledPublicDir()) ? bundledPublicDir() : false;
  }
  if (typeof value !== 'string' || value.length === 0) throw invalid('staticDir', 'a folder path or false', value);
  const folder = path.resolve(cwd, value);
  // Checked here rather than in each worker: a typo should fail the start, not answer 404 forever.
  if (!isFolder(folder)) throw invalid('staticDir', 'an existing folder or false', folder);
  if (exposesSystem(folder)) {
    throw invalid('staticDir', 'a folder that is not a filesystem root, the home folder or a folder above it (it would serve /etc/passwd or ~/.ssh)', folder);
  }
  return folder;
}

/** Whether `inner` is `outer` or inside it (both absolute and normalised). */
function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * A filesystem root, the user's home or a folder above it: what `staticDir:
 * "/"` or `"~"` would put on the network. Symbolic links are resolved first,
 * so a link to `/` is refused too.
 */
function exposesSystem(folder: string): boolean {
  const real = realpathSync(folder);
  if (path.parse(real).root === real) return true;
  const home = homedir();
  if (home === '' || !path.isAbsolute(home)) return false;
  let realHome: string;
  try {
    realHome = realpathSync(home);
  } catch {
    realHome = path.resolve(home);
  }
  return isWithin(realHome, real);
}

/**
 * The line to log at start when `staticDir` lies outside `cwd` (allowed, but
 * worth a look: a path mistyped with `..` or an absolute path meant to be
 * relative publishes a folder nobody meant to). `undefined` when there is
 * nothing to say; the bundled page is never warned about.
 */
export function staticDirWarning(options: Pick<ResolvedOptions, 'staticDir' | 'cwd'>): string | undefined {
  const { staticDir, cwd } = options;
  if (staticDir === false || staticDir === bundledPublicDir() || isWithin(staticDir, path.resolve(cwd))) return undefined;
  return `options.staticDir (${staticDir}) is outside cwd (${cwd}): every file in it is served to anyone who can reach the port`;
}

/** A module path for the workers (`authenticate`, `http`), absolute; checked to exist so a typo fails the start, not every request. */
export function resolveModulePath(name: string, value: unknown, cwd: string): string | false {
  if (value === undefined || value === false) return false;
  const file = moduleFile(value, cwd);
  if (file === undefined) throw invalid(name, `${MODULE_PATH} or false`, value);
  if (!isFile(file)) throw invalid(name, 'an existing module file or false', file);
  return file;
}
