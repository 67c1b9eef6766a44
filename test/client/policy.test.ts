import { ceiling, closeAction, DEFAULT_CLOSE_CODE_ACTIONS, parseRetryAfter, reconnectDelay, statusAction, type BackoffSettings } from '../../src/client/policy';

const SETTINGS: BackoffSettings = { baseDelay: 500, busyDelay: 2000, maxDelay: 30_000, restartJitter: 300 };
const LOW = (): number => 0;
const HIGH = (): number => 0.999999;

describe('close-code policy', () => {
  test.each([
    [1000, 'final'],
    [1001, 'retry'],
    [1002, 'final'],
    [1003, 'final'],
    [1005, 'retry'],
    [1006, 'retry'],
    [1007, 'final'],
    [1008, 'final'],
    [1009, 'final'],
    [1011, 'final'],
    [1012, 'restart'],
    [1013, 'busy'],
    [1014, 'retry'],
    [3000, 'retry'],
    [4000, 'final'],
    [4999, 'final'],
  ])('close %i → %s', (code, action) => {
    expect(closeAction(code, {})).toBe(action);
  });

  test('overrides win over the defaults, for listed and unlisted codes', () => {
    expect(closeAction(1011, { 1011: 'retry' })).toBe('retry');
    expect(closeAction(4001, { 4001: 'busy' })).toBe('busy');
    expect(closeAction(1006, { 1006: 'final' })).toBe('final');
    expect(DEFAULT_CLOSE_CODE_ACTIONS[1012]).toBe('restart');
  });

  test.each([
    [401, 'final'],
    [403, 'final'],
    [404, 'final'],
    [400, 'final'],
    [408, 'retry'],
    [429, 'busy'],
    [503, 'busy'],
    [500, 'retry'],
    [502, 'retry'],
  ])('HTTP %i → %s', (status, action) => {
    expect(statusAction(status, {})).toBe(action);
  });

  test('HTTP overrides', () => {
    expect(statusAction(404, { 404: 'retry' })).toBe('retry');
  });
});

describe('backoff', () => {
  test('the ceiling doubles per attempt and stops at the cap', () => {
    expect([1, 2, 3, 4, 7, 8, 100].map((attempt) => ceiling(500, attempt, 30_000))).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
  });

  test('retry: full jitter, from 0 up to the ceiling', () => {
    for (const attempt of [1, 2, 5, 20]) {
      expect(reconnectDelay('retry', attempt, SETTINGS, LOW)).toBe(0);
      const top = ceiling(500, attempt, 30_000);
      expect(reconnectDelay('retry', attempt, SETTINGS, HIGH)).toBe(top - 1);
    }
  });

  test('retry: spread over the window (many samples)', () => {
    const delays = Array.from({ length: 2000 }, () => reconnectDelay('retry', 3, SETTINGS, Math.random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(2000);
    expect(delays.filter((delay) => delay < 1000).length).toBeGreaterThan(800);
    expect(delays.filter((delay) => delay >= 1000).length).toBeGreaterThan(800);
  });

  test('restart (1012): at once, within the small jitter, whatever the attempt', () => {
    expect(reconnectDelay('restart', 1, SETTINGS, LOW)).toBe(0);
    expect(reconnectDelay('restart', 9, SETTINGS, HIGH)).toBe(299);
  });

  test('busy (1013, 429, 503): at least half the busy ceiling, harder than retry, capped', () => {
    expect(reconnectDelay('busy', 1, SETTINGS, LOW)).toBe(1000);
    expect(reconnectDelay('busy', 1, SETTINGS, HIGH)).toBe(1999);
    expect(reconnectDelay('busy', 3, SETTINGS, LOW)).toBe(4000);
    expect(reconnectDelay('busy', 30, SETTINGS, HIGH)).toBeLessThan(30_000);
    expect(reconnectDelay('busy', 30, SETTINGS, LOW)).toBe(15_000);
  });

  test('busy honours Retry-After, capped at maxDelay', () => {
    expect(reconnectDelay('busy', 1, SETTINGS, LOW, 5000)).toBe(6000);
    expect(reconnectDelay('busy', 1, SETTINGS, LOW, 3_600_000)).toBe(31_000);
  });

  test('Retry-After: seconds, an HTTP date, or nothing', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
