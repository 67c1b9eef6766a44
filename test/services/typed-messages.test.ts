import { isSwitchyardError } from '../../src/errors';
import { MAX_ISSUES, MessageDecoder, type Decoded } from '../../src/services/typed-messages';
import type { StandardSchemaV1 } from '../../src/services/standard-schema';
import { saySchema } from '../helpers/tiny-schema';

function reply(decoded: Decoded | Promise<Decoded>): unknown {
  if (decoded instanceof Promise || decoded.ok) throw new Error('expected a sync rejection');
  return JSON.parse(decoded.reply);
}

test('an untyped service gets no decoder', () => {
  expect(MessageDecoder.for({})).toBeUndefined();
});

test("messageFormat 'json' parses, and refuses what is not JSON text", () => {
  const decoder = MessageDecoder.for({ messageFormat: 'json' }) as MessageDecoder;
  expect(decoder.decode('{"a":[1,2]}')).toEqual({ ok: true, value: { a: [1, 2] } });
  expect(decoder.decode('3')).toEqual({ ok: true, value: 3 });
  const notJson = decoder.decode('{oops');
  expect(notJson).toMatchObject({ ok: false, reason: 'json' });
  expect(reply(notJson)).toEqual({ $error: { code: 'SY_ERR_INVALID_MESSAGE', message: 'message is not valid JSON' } });
  expect(decoder.decode(Buffer.from('{}'))).toMatchObject({ ok: false, reason: 'json' });
});

test('a schema gives its output, or its issues (path segments flattened)', async () => {
  const decoder = MessageDecoder.for({ messageSchema: saySchema() }) as MessageDecoder;
  expect(decoder.decode('{"type":"say","text":"hi","extra":1}')).toEqual({ ok: true, value: { type: 'say', text: 'hi' } });
  const rejected = decoder.decode('{"type":"say","text":5}');
  expect(rejected).toMatchObject({ ok: false, reason: 'schema' });
  expect(reply(rejected)).toEqual({
    $error: { code: 'SY_ERR_INVALID_MESSAGE', message: "message does not match the service's schema (1 issue)", issues: [{ message: 'text must be a string', path: ['text'] }] },
  });
  const async = MessageDecoder.for({ messageSchema: saySchema({ async: true }) }) as MessageDecoder;
  const pending = async.decode('{"type":"ping"}');
  expect(pending).toBeInstanceOf(Promise);
  await expect(pending).resolves.toEqual({ ok: true, value: { type: 'ping' } });
  await expect(async.decode('{"type":"x"}')).resolves.toMatchObject({ ok: false, reason: 'schema' });
});

test('the reply is bounded: at most MAX_ISSUES issues, long messages and paths clipped', () => {
  const flood: StandardSchemaV1 = {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: () => ({ issues: Array.from({ length: 1000 }, () => ({ message: 'x'.repeat(10_000), path: Array.from({ length: 100 }, () => 'k'.repeat(1000)) })) }),
    },
  };
  const decoded = (MessageDecoder.for({ messageSchema: flood }) as MessageDecoder).decode('{}');
  if (decoded instanceof Promise || decoded.ok) throw new Error('expected a rejection');
  const body = JSON.parse(decoded.reply) as { $error: { issues: Array<{ message: string; path: string[] }> } };
  expect(body.$error.issues).toHaveLength(MAX_ISSUES);
  expect(decoded.reply.length).toBeLessThan(15_000);
});

test('a messageFormat other than json, or a messageSchema that is not a Standard Schema, is a clear error', () => {
  for (const typing of [{ messageFormat: 'xml' }, { messageSchema: { parse: () => 1 } }, { messageSchema: { '~standard': {} } }]) {
    let caught: unknown;
    try {
      MessageDecoder.for(typing as never);
    } catch (error) {
      caught = error;
    }
    expect(isSwitchyardError(caught, 'SY_ERR_INVALID_ARGUMENT')).toBe(true);
  }
});
