/*
 * Profiles every Node process it is loaded into, forked children included:
 *   NODE_OPTIONS="--require $PWD/packages/bench/suite/cpu-profile-hook.cjs" CPU_PROFILE_DIR=/tmp/prof node dist/cli.js start …
 * Node 20 refuses --cpu-prof in NODE_OPTIONS, and the cluster workers and
 * services are forked with their own execArgv, so this uses the inspector
 * instead. A main-thread inspector session answers synchronously, which lets
 * the profile be written from the 'exit' handler.
 */
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.CPU_PROFILE_DIR || process.cwd();
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    // cli / worker-main / service-main: which role this process had.
    const role = path.basename(process.argv[1] || 'node', path.extname(process.argv[1] || ''));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
