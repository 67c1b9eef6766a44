/**
 * Run by jest before each integration test file (jest.config.js,
 * `setupFiles`): node:cluster's scheduling policy is process-wide and frozen
 * at the first `setupPrimary()`, and a jest worker runs many files. A file
 * whose server starts with the default balancing (`'auto'`: node:cluster's
 * shared socket here) would otherwise fix it for every later file in that
 * worker, and the tests that rely on round-robin's rotation over two workers
 * (a client on each) would depend on the order jest gave the files. So every
 * jest worker freezes round-robin first; the default balancing is tested
 * through the CLI, in processes of its own (reuse-port.test.ts,
 * kernel-fair.test.ts). Our own `setupPrimary()` later still sets what the
 * workers run.
 */
import cluster from 'node:cluster';

if (cluster.isPrimary && cluster.settings.exec === undefined) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary();
}
