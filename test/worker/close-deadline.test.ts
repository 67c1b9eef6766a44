import { WebSocket } from 'ws';
import { CloseDeadlines } from '../../src/worker/close-deadline';

class FakePeer {
  readyState: WebSocket["readyState"] = WebSocket.CLOSING;
  terminated = false;
  terminate(): void {
    this.terminated = true;
    this.readyState = WebSocket.CLOSED;
  }
}

test('a peer still closing after the grace is terminated; one that closed is left alone', () => {
  let now = 0;
  const deadlines = new CloseDeadlines<FakePeer>(2000, () => now);
  const stuck = new FakePeer();
  const polite = new FakePeer();
  deadlines.add(stuck);
  deadlines.add(polite);
  now = 1999;
  deadlines.sweep();
  expect(stuck.terminated).toBe(false);
  polite.readyState = WebSocket.CLOSED;
  now = 2000;
  deadlines.sweep();
  expect(stuck.terminated).toBe(true);
  expect(polite.terminated).toBe(false);
  expect(deadlines.terminated).toBe(1);
  expect(deadlines.size).toBe(0);
  deadlines.close();
});

test('adding twice keeps the first deadline; delete forgets; the timer stops when nothing is pending', () => {
  let now = 0;
  const deadlines = new CloseDeadlines<FakePeer>(1000, () => now);
  const peer = new FakePeer();
  deadlines.add(peer);
  now = 900;
  deadlines.add(peer);
  now = 1000;
  deadlines.sweep();
  expect(peer.terminated).toBe(true);
  const other = new FakePeer();
  deadlines.add(other);
  deadlines.delete(other);
  expect(deadlines.size).toBe(0);
  expect((deadlines as unknown as { timer: unknown }).timer).toBeUndefined();
  deadlines.close();
});
