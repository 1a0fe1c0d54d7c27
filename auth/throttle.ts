/**
 * Failed-login throttling per authid and per remote address. After a few free failures each
 * further failure blocks that key for an exponentially growing window, capped at `maxDelayMs`,
 * so a guesser slows to a crawl while the genuine user is never locked out for longer than the
 * cap. A key with no failure for a full cap after its block ends is forgotten.
 */

export interface ThrottleOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  freeFailures: number;
  /** Bound on tracked keys, so a spray of random authids cannot grow memory without limit. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

export class FailureThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  blockedFor(key: string): number {
    const entry = this.live(key);
    return entry ? Math.max(0, entry.blockedUntil - this.now()) : 0;
  }

  recordFailure(key: string): void {
    if (this.options.baseDelayMs === 0) return;
    const entry = this.live(key) ?? { failures: 0, blockedUntil: 0, lastFailure: 0 };
    entry.failures++;
    entry.lastFailure = this.now();
    const over = entry.failures - this.options.freeFailures;
    if (over > 0) {
      const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30));
      entry.blockedUntil = this.now() + delay;
    }
    this.entries.delete(key); // re-insert: Map order is then least recently failed first
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  recordSuccess(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() > Math.max(entry.blockedUntil, entry.lastFailure) + this.options.maxDelayMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
