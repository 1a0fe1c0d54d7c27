/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` are kept. Taking more than is
 * there runs into debt, and the debt says how long the taker must wait, so a flood is slowed to
 * the rate instead of being cut off at the first excess message. A rate of 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly ratePerSecond: number, private readonly burst: number, private readonly now: () => number = Date.now) {
    this.tokens = burst;
    this.last = now();
  }

  /** Take `amount`; returns 0 if it was covered, else the milliseconds until the debt is repaid. */
  take(amount: number): number {
    if (this.ratePerSecond === 0) return 0;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSecond) / 1000);
    this.last = t;
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSecond);
  }
}

export interface RateSettings {
  messagesPerSecond: number;
  burst: number;
  bytesPerSecond: number;
}

/** Inbound rate of one session: messages and bytes, each its own bucket. */
export class InboundRate {
  private readonly messages: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(settings: RateSettings, now: () => number = Date.now) {
    this.messages = new TokenBucket(settings.messagesPerSecond, settings.burst, now);
    this.bytes = new TokenBucket(settings.bytesPerSecond, settings.bytesPerSecond * 2, now);
  }

  /** Account one message of `size` bytes; returns how long reading should pause (0 = not at all). */
  admit(size: number): number {
    return Math.max(this.messages.take(1), this.bytes.take(size));
  }
}
