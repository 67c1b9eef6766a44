/**
 * A cluster that is not ready within startTimeout says which processes were
 * not: the service whose onStart hung, by name, and that the workers had not
 * been started (they start once every service runs).
 */
import * as path from 'node:path';
import { isSwitchyardError } from '../../src/errors';
import { closeAll, startCluster, FIXTURES } from '../helpers/cluster';

const ECHO = path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts');

afterEach(closeAll);

test('SY_ERR_START_TIMEOUT names the service whose onStart never resolved', async () => {
  const started = startCluster({ services: { echo: ECHO, hung: path.join(FIXTURES, 'hanging-start.ts') }, startTimeout: 4000 });
  const error = await started.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isSwitchyardError(error, 'SY_ERR_START_TIMEOUT')).toBe(true);
  const message = (error as Error).message;
  expect(message).toMatch(/within 4000 ms/);
  expect(message).toMatch(/service "hung" \(starting\)/);
  expect(message).toMatch(/workers: not started yet/);
}, 15000);
