import { availableParallelism } from 'node:os';
import { workerLimits } from '../src/child-env';
import { encodeBatch } from '../src/ipc/link-codec';
import { MAX_LINE_LENGTH, MAX_RAW_LENGTH } from '../src/ipc/socket-endpoint';
import { DERIVED_OPTION_KEYS, resolveOptions } from '../src/options';
import { OPTION_NAMES, OPTION_SPECS, WORKER_LIMIT_NAMES, type OptionSpec } from '../src/options-spec';
import { MAX_MESSAGE_LENGTH, MAX_PAYLOAD_BYTES, MESSAGE_OVERHEAD, encodePayload } from '../src/protocol';
import { messageOf } from './helpers/option-errors';

const integers = OPTION_NAMES.flatMap((name) => {
  const spec: OptionSpec = OPTION_SPECS[name];
  return spec.kind === 'integer' ? [[name, spec] as const] : [];
});

test('every integer option defaults to its table value and refuses one past either bound', () => {
  const resolved = resolveOptions() as unknown as Record<string, unknown>;
  for (const [name, spec] of integers) {
    expect([name, resolved[name]]).toEqual([name, spec.default === 'cpus' ? availableParallelism() : spec.default]);
    const requirement = `${spec.off === undefined ? '' : `${spec.off} (off) or `}an integer from ${spec.min} to ${spec.max}`;
    const below = spec.off === spec.min - 1 ? -1 : spec.min - 1;
    for (const bad of [below, spec.max + 1]) {
      expect(messageOf({ [name]: bad })).toBe(`options.${name} must be ${requirement}, got ${bad}`);
    }
    if (spec.off !== undefined) expect([name, (resolveOptions({ [name]: spec.off }) as unknown as Record<string, unknown>)[name]]).toEqual([name, spec.off]);
  }
  expect(integers.length).toBeGreaterThan(20);
});

test('every timer option has a lower bound well above 1 ms (a timer of 1 ms wrecks the server), unless 0 is a mode of its own', () => {
  const timers = integers.filter(([, spec]) => spec.unit === 'ms');
  expect(timers.map(([name]) => name)).toEqual(expect.arrayContaining(['heartbeatInterval', 'idleTimeout', 'handshakeTimeout', 'requestTimeout', 'startTimeout', 'stopTimeout', 'restartDelay', 'crashLoopWindow']));
  for (const [name, spec] of timers) {
    // A cache or a grace whose least value is 0 ("none") only does less of a harmless thing near it; its doc says what 0 does.
    if (spec.min === 0) {
      expect([name, spec.doc.includes('`0`')]).toEqual([name, true]);
      continue;
    }
    expect([name, spec.min >= 10]).toEqual([name, true]);
    // Why the bound is what it is, for the reader of docs/options.md.
    if (spec.min >= 100) expect([name, /at least/i.test(spec.doc)]).toEqual([name, true]);
  }
});

test('boolean and enum options default to their table value and refuse other values', () => {
  const resolved = resolveOptions() as unknown as Record<string, unknown>;
  for (const name of OPTION_NAMES) {
    const spec: OptionSpec = OPTION_SPECS[name];
    if (spec.kind === 'boolean') {
      expect(resolved[name]).toBe(spec.default);
      expect(messageOf({ [name]: 'yes' })).toBe(`options.${name} must be true or false, got "yes"`);
    } else if (spec.kind === 'enum') {
      expect(resolved[name]).toBe(spec.default);
      expect(messageOf({ [name]: 'nope' })).toBe(`options.${name} must be one of ${spec.values.join(', ')}, got "nope"`);
    }
  }
});

test('the known keys are the table: every name is accepted, and resolved options have exactly those keys (and the derived ones)', () => {
  expect(Object.keys(resolveOptions()).sort()).toEqual([...OPTION_NAMES, ...DERIVED_OPTION_KEYS].sort());
  for (const name of OPTION_NAMES) expect(() => resolveOptions({ [name]: undefined })).not.toThrow();
  expect(messageOf({ maxPayloadBytes: 1 })).toBe('options.maxPayloadBytes is not a known option');
});

test("the worker's limits copy holds exactly the options marked workerLimit", () => {
  const limits = workerLimits(resolveOptions({ allowedOrigins: ['https://a.example'] }));
  expect(Object.keys(limits).sort()).toEqual([...WORKER_LIMIT_NAMES].sort());
  expect(limits.allowedOrigins).toEqual(['https://a.example']);
  expect(workerLimits(resolveOptions()).allowedOrigins).toBeNull();
  expect(WORKER_LIMIT_NAMES).toEqual(expect.arrayContaining(['maxBufferedBytes', 'heartbeatInterval', 'maxHeaderSize', 'perMessageDeflate']));
});

describe('size bounds follow the path the bytes travel', () => {
  test('a body or message of MAX_PAYLOAD_BYTES fits one link message and the raw bound of every link reader', () => {
    // Bytes travel raw (link-codec.ts), no longer base64: the 48 MiB cap is kept, with room below MAX_MESSAGE_LENGTH.
    const write = encodeBatch([{ type: 'message', id: '1.1', seq: 1, ...encodePayload(Buffer.alloc(MAX_PAYLOAD_BYTES)) }]) as Buffer[];
    expect(write[1]?.length).toBe(MAX_PAYLOAD_BYTES);
    expect(MAX_PAYLOAD_BYTES).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(MAX_PAYLOAD_BYTES).toBeLessThanOrEqual(MAX_RAW_LENGTH);
    expect(OPTION_SPECS.maxPayload.max).toBe(MAX_PAYLOAD_BYTES);
    expect(OPTION_SPECS.maxRequestBody.max).toBe(MAX_PAYLOAD_BYTES);
  });

  test('the largest request, JSON-escaped (6× at worst), still fits one link line under V8\'s string limit', () => {
    const escaped = 6 * (MAX_MESSAGE_LENGTH + OPTION_SPECS.maxHeaderSize.max) + MESSAGE_OVERHEAD;
    expect(escaped).toBeLessThan(MAX_LINE_LENGTH);
    expect(MAX_LINE_LENGTH).toBeLessThan(2 ** 29 - 24);
  });

  test('the default queue bound holds the largest default message', () => {
    expect(() => resolveOptions()).not.toThrow();
    expect(OPTION_SPECS.ipcMaxQueuedBytes.default).toBeGreaterThanOrEqual(4 * Math.ceil(OPTION_SPECS.maxPayload.default / 3) + MESSAGE_OVERHEAD);
    expect(OPTION_SPECS.ipcMaxQueuedBytes.default).toBeGreaterThanOrEqual(
      4 * Math.ceil(OPTION_SPECS.maxRequestBody.default / 3) + OPTION_SPECS.maxHeaderSize.default + MESSAGE_OVERHEAD,
    );
  });
});
