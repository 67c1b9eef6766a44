import { AddressSlots, ConnectionGate } from '../../src/worker/connection-gate';

/** Admits a connection from `address` (it must be admitted); returns what frees its slot. */
function admitted(gate: ConnectionGate, origin: string | undefined, address: string): () => void {
  const admission = gate.admit(origin, address);
  if (!admission.ok) throw new Error(`refused with ${admission.status}`);
  return () => gate.release(address);
}

test('beyond maxConnectionsPerWorker: 503 with Retry-After; a released slot is reusable', () => {
  const gate = new ConnectionGate({ maxConnectionsPerWorker: 2, maxConnectionsPerIp: 10, allowedOrigins: null });
  const first = admitted(gate, undefined, '10.0.0.1');
  admitted(gate, undefined, '10.0.0.2');
  expect(gate.admit(undefined, '10.0.0.3')).toEqual({ ok: false, status: 503, message: 'Too many connections', headers: { 'Retry-After': '1' } });
  first();
  first(); // a release with no slot held at that address frees nothing (no other address's slot)
  expect(gate.size).toBe(1);
  expect(gate.admit(undefined, '10.0.0.3').ok).toBe(true);
  expect(gate.admit(undefined, '10.0.0.4').ok).toBe(false);
});

test('beyond maxConnectionsPerIp: 429 for that address only', () => {
  const gate = new ConnectionGate({ maxConnectionsPerWorker: 100, maxConnectionsPerIp: 2, allowedOrigins: null });
  const a = admitted(gate, undefined, '10.0.0.1');
  admitted(gate, undefined, '10.0.0.1');
  expect(gate.admit(undefined, '10.0.0.1')).toMatchObject({ ok: false, status: 429, headers: { 'Retry-After': '1' } });
  expect(gate.admit(undefined, '10.0.0.2').ok).toBe(true);
  a();
  expect(gate.countFrom('10.0.0.1')).toBe(1);
  expect(gate.admit(undefined, '10.0.0.1').ok).toBe(true);
});

test('released addresses leave no entry behind', () => {
  const gate = new ConnectionGate({ maxConnectionsPerWorker: 100, maxConnectionsPerIp: 1, allowedOrigins: null });
  for (let i = 0; i < 50; i++) admitted(gate, undefined, `10.0.0.${i}`)();
  expect(gate.size).toBe(0);
  expect(gate.countFrom('10.0.0.1')).toBe(0);
  expect((gate as unknown as { perAddress: AddressSlots }).perAddress.addresses).toBe(0);
});

test('allowedOrigins: exact matches only; a missing Origin is refused too', () => {
  const gate = new ConnectionGate({ maxConnectionsPerWorker: 100, maxConnectionsPerIp: 100, allowedOrigins: ['https://a.example', 'http://localhost:8080'] });
  expect(gate.admit('https://a.example', 'x').ok).toBe(true);
  expect(gate.admit('http://localhost:8080', 'x').ok).toBe(true);
  for (const origin of ['https://A.example.evil', 'https://a.example:443', 'http://a.example', 'null', undefined]) {
    expect(gate.admit(origin, 'x')).toMatchObject({ ok: false, status: 403 });
  }
});

test('an origin refusal takes no slot, and comes before "too many"', () => {
  const gate = new ConnectionGate({ maxConnectionsPerWorker: 1, maxConnectionsPerIp: 1, allowedOrigins: ['https://a.example'] });
  expect(gate.admit('https://b.example', 'x')).toMatchObject({ status: 403 });
  expect(gate.size).toBe(0);
  admitted(gate, 'https://a.example', 'x');
  expect(gate.admit('https://b.example', 'x')).toMatchObject({ status: 403 });
});

test('AddressSlots: a cap per address, released slots free their entry, a release without a slot frees nothing', () => {
  const slots = new AddressSlots(2);
  expect([slots.take('a'), slots.take('a'), slots.take('a'), slots.take('b')]).toEqual([true, true, false, true]);
  expect([slots.countFrom('a'), slots.addresses]).toEqual([2, 2]);
  expect([slots.release('a'), slots.release('a'), slots.release('a')]).toEqual([true, true, false]);
  expect(slots.take('a')).toBe(true);
  expect([slots.release('a'), slots.release('b'), slots.addresses]).toEqual([true, true, 0]);
});
