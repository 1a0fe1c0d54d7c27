import type { Limits } from '../limits.js';

/**
 * One timer per listener instead of one per connection: every tick it hands each transport the
 * time and whether a ping round is due, so liveness and stalled writes are checked in one pass.
 */
export class Housekeeper {
  private timer: NodeJS.Timeout | undefined;
  private lastPing = 0;
  private readonly tickMs: number;

  constructor(private readonly limits: Limits, private readonly visit: (now: number, pingDue: boolean) => void) {
    // Fine enough to honour the shortest configured interval, never busier than every 20 ms.
    this.tickMs = Math.max(20, Math.min(1000, limits.pingIntervalMs / 2, limits.writeStallTimeoutMs / 4));
  }

  start(): void {
    this.lastPing = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      const pingDue = now - this.lastPing >= this.limits.pingIntervalMs;
      if (pingDue) this.lastPing = now;
      this.visit(now, pingDue);
    }, this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
