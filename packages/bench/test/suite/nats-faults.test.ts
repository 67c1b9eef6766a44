import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkStream } from '../../suite/nats/nats-faults';
import { natsServerPath } from '../../suite/nats/nats-server';

const answer = (data: number, redelivered = false): { data: string; redelivered: boolean } => ({ data: String(data), redelivered });

test('checkStream: every number answered once, in order, is clean', () => {
  expect(checkStream([1, 2, 3].map((n) => answer(n)), 3)).toEqual({ lost: 0, unmarkedRepeats: 0, outOfOrder: 0, redelivered: 0 });
});

test('checkStream counts lost numbers, unmarked repeats and first answers out of order; a marked repeat is fine', () => {
  expect(checkStream([answer(1), answer(2), answer(2, true), answer(4), answer(4), answer(3)], 5)).toEqual({ lost: 1, unmarkedRepeats: 1, outOfOrder: 2, redelivered: 1 });
  expect(checkStream([], 2).lost).toBe(2);
});

test('natsServerPath: NATS_SERVER when it exists, else the first nats-server on PATH, else undefined', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sy-nats-path-'));
  try {
    const binary = path.join(dir, 'nats-server');
    writeFileSync(binary, '');
    expect(natsServerPath({ PATH: ['/nonexistent', dir].join(path.delimiter) })).toBe(binary);
    expect(natsServerPath({ PATH: '/nonexistent' })).toBeUndefined();
    expect(natsServerPath({ NATS_SERVER: binary, PATH: '' })).toBe(binary);
    expect(natsServerPath({ NATS_SERVER: path.join(dir, 'missing'), PATH: dir })).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
