import { WebSocket } from 'ws';
import { Heartbeat } from '../../src/worker/heartbeat';

class FakePeer {
  readyState: WebSocket["readyState"] = WebSocket.OPEN;
  pings = 0;
  terminated = false;
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = WebSocket.CLOSED;
  }
}

let heartbeat: Heartbeat<FakePeer>;
// An interval no test waits for: ticks are driven by calling sweep().
beforeEach(() => (heartbeat = new Heartbeat<FakePeer>(3_600_000)));
afterEach(() => heartbeat.close());

test('a peer that answers every ping survives; one that does not is terminated on the next tick', () => {
  const alive = new FakePeer();
  const dead = new FakePeer();
  heartbeat.add(alive);
  heartbeat.add(dead);
  for (let tick = 0; tick < 3; tick++) {
    heartbeat.sweep();
    heartbeat.pong(alive);
  }
  expect(alive).toMatchObject({ pings: 3, terminated: false });
  expect(dead).toMatchObject({ pings: 1, terminated: true });
  expect(heartbeat.reaped).toBe(1);
});

test('a peer that is already closing is neither pinged nor reaped; a deleted one is forgotten', () => {
  const closing = new FakePeer();
  closing.readyState = WebSocket.CLOSING;
  const gone = new FakePeer();
  heartbeat.add(closing);
  heartbeat.add(gone);
  heartbeat.delete(gone);
  heartbeat.sweep();
  heartbeat.sweep();
  expect(closing).toMatchObject({ pings: 0, terminated: false });
  expect(gone).toMatchObject({ pings: 0, terminated: false });
});

test('an interval of 0 tracks nothing', () => {
  const off = new Heartbeat<FakePeer>(0);
  const peer = new FakePeer();
  off.add(peer);
  off.sweep();
  off.sweep();
  expect(peer).toMatchObject({ pings: 0, terminated: false });
  off.close();
});
