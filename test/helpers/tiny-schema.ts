/**
 * A Standard Schema written by hand, as zod, valibot or ArkType would provide
 * one: the tests check Switchyard against the interface, not a library.
 * `say`: `{ type: 'say', text: string of 1 to 100 characters }` or
 * `{ type: 'ping' }`; `async: true` makes `validate` return a promise.
 */
import type { StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from '../../src/services/standard-schema';

export type SayMessage = { readonly type: 'say'; readonly text: string } | { readonly type: 'ping' };

function check(value: unknown): StandardSchemaResult<SayMessage> {
  if (typeof value !== 'object' || value === null) return { issues: [{ message: 'expected an object' }] };
  const record = value as Record<string, unknown>;
  if (record.type === 'ping') return { value: { type: 'ping' } };
  if (record.type !== 'say') return { issues: [{ message: 'type must be "say" or "ping"', path: ['type'] }] };
  const issues: StandardSchemaIssue[] = [];
  if (typeof record.text !== 'string') issues.push({ message: 'text must be a string', path: [{ key: 'text' }] });
  else if (record.text.length === 0 || record.text.length > 100) issues.push({ message: 'text must have 1 to 100 characters', path: ['text'] });
  return issues.length > 0 ? { issues } : { value: { type: 'say', text: record.text as string } };
}

export function saySchema(options: { readonly async?: boolean } = {}): StandardSchemaV1<unknown, SayMessage> {
  return {
    '~standard': {
      version: 1,
      vendor: 'switchyard-test',
      validate: options.async === true ? (value: unknown) => Promise.resolve(check(value)) : check,
    },
  };
}
