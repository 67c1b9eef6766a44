/**
 * A token bucket per connection, refilled lazily from the clock on each take:
 * no timer per socket, one subtraction and a comparison per message. A token
 * is a message for the message rate, a byte for the inflated-bytes budget.
 */

export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * `ratePerSecond` tokens accrue per second up to `burst`; the bucket starts
   * full so that a client may send a burst right after connecting.
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError('a token bucket needs a positive rate and a burst of at least 1');
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Takes `amount` tokens (default 1) at time `now` (ms, monotonic); false,
   * taking none, when fewer are left.
   */
  take(now: number, amount = 1): boolean {
    const elapsed = now - this.last;
    // A clock that went backwards (it should not: callers use a monotonic one) refills nothing.
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}
