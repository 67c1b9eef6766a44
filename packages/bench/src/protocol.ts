/** Messages between `switchyard bench` and its generator child processes, one union per direction. */
import type { WindowPhase } from './control';
import type { BenchOptions } from './options';
import type { ShardResult } from './result';
import type { Shard } from './source-address';

export type ParentToChild =
  | { readonly type: 'run'; readonly options: BenchOptions; readonly shard: Shard }
  | { readonly type: 'go' }
  | { readonly type: 'chaos'; readonly index: number }
  | { readonly type: 'chaos-done' };

export type ChildToParent =
  | { readonly type: 'ready' }
  | { readonly type: 'held' }
  | { readonly type: 'progress'; readonly count: number }
  | { readonly type: 'window'; readonly phase: WindowPhase }
  | { readonly type: 'result'; readonly result: ShardResult }
  | { readonly type: 'failed'; readonly message: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isParentToChild(value: unknown): value is ParentToChild {
  if (!isObject(value)) return false;
  if (value.type === 'go' || value.type === 'chaos-done') return true;
  if (value.type === 'chaos') return Number.isSafeInteger(value.index);
  return value.type === 'run' && isObject(value.options) && isObject(value.shard);
}

export function isChildToParent(value: unknown): value is ChildToParent {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
    case 'held':
      return true;
    case 'progress':
      return typeof value.count === 'number';
    case 'window':
      return value.phase === 'start' || value.phase === 'end';
    case 'result':
      return isObject(value.result);
    case 'failed':
      return typeof value.message === 'string';
    default:
      return false;
  }
}
