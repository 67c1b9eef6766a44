/**
 * What `resolveOptions()` refuses, for the option tests: the error a value
 * throws, or the test fails (it resolved, or threw something else).
 */
import { isSwitchyardError } from '../../src/errors';
import { resolveOptions, type SwitchyardOptions } from '../../src/options';

function refused(options: unknown): Error {
  return new Error(`expected ${JSON.stringify(options)} to be refused`);
}

/** The code and message of the `SwitchyardError` that `resolveOptions(options)` throws. */
export function errorOf(options: unknown): { code: string; message: string } {
  try {
    resolveOptions(options as SwitchyardOptions);
  } catch (error) {
    if (isSwitchyardError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw refused(options);
}

/** The message of the `SY_ERR_INVALID_OPTION` that `resolveOptions(options)` throws. */
export function messageOf(options: unknown): string {
  try {
    resolveOptions(options as SwitchyardOptions);
  } catch (error) {
    if (isSwitchyardError(error, 'SY_ERR_INVALID_OPTION')) return error.message;
    throw error;
  }
  throw refused(options);
}
