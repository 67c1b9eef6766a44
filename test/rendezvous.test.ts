import { bestUsable, ownerOf } from '../src/rendezvous';
import { connectionKey, parseShardBy, shardKeyOf } from '../src/shard-key';

const KEYS = Array.from({ length: 30_000 }, (_, i) => `${(i % 7).toString(36)}.${i.toString(36)}`);

function owners(instances: number): number[] {
  return KEYS.map((key) => ownerOf(key, instances));
}

describe('rendezvous hashing', () => {
  it.each([2, 3, 4, 8])('spreads %i instances evenly: each within 5%% of its share', (instances) => {
    const counts = new Array<number>(instances).fill(0);
    for (const owner of owners(instances)) counts[owner] = (counts[owner] ?? 0) + 1;
    const share = KEYS.length / instances;
    for (const count of counts) expect(Math.abs(count - share) / share).toBeLessThan(0.05);
  });

  it.each([1, 2, 3, 7])('going from %i to N+1 instances moves about 1/(N+1) of the keys, all to the new instance', (n) => {
    const before = owners(n);
    const after = owners(n + 1);
    let moved = 0;
    let elsewhere = 0;
    before.forEach((owner, i) => {
      if (after[i] === owner) return;
      moved++;
      if (after[i] !== n) elsewhere++;
    });
    expect(elsewhere).toBe(0);
    const expected = KEYS.length / (n + 1);
    expect(Math.abs(moved - expected) / expected).toBeLessThan(0.05);
  });

  it('going from N to N-1 moves only the removed instance keys', () => {
    const before = owners(4);
    const after = owners(3);
    const wrong = before.filter((owner, i) => (owner === 3 ? (after[i] as number) > 2 : after[i] !== owner));
    expect(wrong).toEqual([]);
    expect(before.filter((owner) => owner === 3).length).toBeGreaterThan(0);
  });

  it('is deterministic, and one instance owns everything', () => {
    expect(owners(3)).toEqual(owners(3));
    expect(ownerOf('anything', 1)).toBe(0);
  });

  it('bestUsable picks the owner while it is usable, else the next in the key ranking, else -1', () => {
    for (const key of KEYS.slice(0, 500)) {
      const owner = ownerOf(key, 3);
      expect(bestUsable(key, 3, () => true)).toBe(owner);
      const fallback = bestUsable(key, 3, (i) => i !== owner);
      expect(fallback).not.toBe(owner);
      expect(fallback).toBeGreaterThanOrEqual(0);
      // Removing the owner leaves the key where N-1 instances would put it, when the owner was the last one.
      if (owner === 2) expect(fallback).toBe(ownerOf(key, 2));
    }
    expect(bestUsable('k', 3, () => false)).toBe(-1);
  });
});

describe('shard keys', () => {
  it('parses the option forms and refuses others', () => {
    expect(parseShardBy('client')).toEqual({ kind: 'client' });
    expect(parseShardBy('query:room')).toEqual({ kind: 'query', name: 'room' });
    expect(parseShardBy('header:X-Tenant')).toEqual({ kind: 'header', name: 'x-tenant' });
    expect(parseShardBy('user')).toEqual({ kind: 'user' });
    for (const bad of ['', 'room', 'query:', 'header:', 'cookie:x', 'query:a b', 'user:x', 'users']) expect(parseShardBy(bad)).toBeUndefined();
  });

  it('reads the key from the query or a header, falling back to the client id', () => {
    const source = { query: { room: 'lobby' }, headers: { 'x-tenant': 'acme', 'x-list': ['a', 'b'] } };
    expect(shardKeyOf({ kind: 'query', name: 'room' }, source)).toBe('q:lobby');
    expect(shardKeyOf({ kind: 'header', name: 'x-tenant' }, source)).toBe('h:acme');
    expect(shardKeyOf({ kind: 'header', name: 'x-list' }, source)).toBe('h:a, b');
    expect(shardKeyOf({ kind: 'client' }, source)).toBeUndefined();
    // The authenticated user: every connection of one user has one key; none without a user.
    expect(shardKeyOf({ kind: 'user' }, { ...source, user: 'ann' })).toBe('u:ann');
    expect(shardKeyOf({ kind: 'user' }, source)).toBeUndefined();
    expect(connectionKey({ kind: 'user' }, source, '1.a')).toBe('c:1.a');
    expect(connectionKey({ kind: 'query', name: 'game' }, source, '1.a')).toBe('c:1.a');
    expect(connectionKey({ kind: 'query', name: 'room' }, { query: { room: '' }, headers: {} }, '1.a')).toBe('c:1.a');
    // A room named like a client id is another key.
    expect(connectionKey({ kind: 'query', name: 'room' }, { query: { room: '1.a' }, headers: {} }, '2.b')).not.toBe(connectionKey({ kind: 'client' }, source, '1.a'));
  });
});
