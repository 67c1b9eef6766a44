/**
 * The master's private folder for the services' Unix sockets (mode 0700, in
 * `$TMPDIR`), and the sweep of the folders that dead masters left behind.
 *
 * On a normal stop the master removes its folder, and when the master dies the
 * services remove their sockets and the folder on their way out. A process
 * group SIGKILLed as a whole (`kill -9 -<pgid>`, an OOM kill of a container's
 * processes) leaves nobody to do it: the folder and its sockets stay. So each
 * folder is named after the master that made it (`switchyard-<pid>-XXXXXX`),
 * and a starting master removes the folders of this form whose master is no
 * longer running and that belong to its own user.
 *
 * A pid tells a live master only within one pid namespace: masters that share
 * a `$TMPDIR` across containers should each be given a `TMPDIR` of their own.
 * A dead master's pid that a new process has taken keeps its folder (the safe
 * mistake); the next start after that process ends removes it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../logger';

const PREFIX = 'switchyard-';

/** `switchyard-<pid>-<mkdtemp's six characters>`: folders older versions made carry no pid and are left alone. */
const OWNED_NAME = /^switchyard-([1-9][0-9]*)-[A-Za-z0-9]{6}$/;

/** Makes this master's folder (mkdtemp makes it 0700) under `os.tmpdir()`. */
export function createSocketDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
}

/** True while a process with `pid` exists, whoever owns it (EPERM: it exists, another user's). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the socket folders under `os.tmpdir()` left by masters that are no
 * longer running; returns the paths removed. Only real folders (not links)
 * owned by this user are considered; anything that fails is logged and kept.
 */
export function removeStaleSocketDirs(log: Logger): string[] {
  const tmp = os.tmpdir();
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch (error) {
    log.debug({ err: error, dir: tmp }, 'cannot list the temporary folder; no stale socket folders removed');
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = OWNED_NAME.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isRunning(pid)) continue;
    const dir = path.join(tmp, name);
    try {
      const stat = fs.lstatSync(dir);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch (error) {
      log.warn({ err: error, dir }, 'cannot remove a stale socket folder');
    }
  }
  if (removed.length > 0) log.info({ removed }, 'removed socket folders left by masters that are no longer running');
  return removed;
}
