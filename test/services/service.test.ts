import { isSwitchyardError } from '../../src/errors';
import { MAX_MESSAGE_LENGTH } from '../../src/protocol';
import { toPayload } from '../../src/services/service';

test('a message past the link limit is refused with a typed error; one at the limit passes', () => {
  expect(toPayload('x'.repeat(MAX_MESSAGE_LENGTH)).data).toHaveLength(MAX_MESSAGE_LENGTH);
  let caught: unknown;
  try {
    // Binary travels as its bytes (a raw segment on the link): the limit counts bytes.
    toPayload(Buffer.alloc(MAX_MESSAGE_LENGTH + 1));
  } catch (error) {
    caught = error;
  }
  expect(isSwitchyardError(caught, 'SY_ERR_INVALID_ARGUMENT')).toBe(true);
  expect((caught as Error).message).toContain('at most 67108864 characters');
});

test('values other than text and bytes are sent as JSON text', () => {
  expect(toPayload({ a: 1 })).toEqual({ data: '{"a":1}' });
  expect(toPayload(Buffer.from([1, 2]))).toEqual({ data: Buffer.from([1, 2]), binary: true });
});
