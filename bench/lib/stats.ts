/**
 * Small statistics for the bench: percentiles over raw samples, a mergeable log-bucketed latency
 * histogram (workers send bucket counts to the parent, which merges them), rates and ratios.
 */

/** Nearest-rank percentile of an ascending array; `p` in [0, 100]. NaN for an empty array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (!(p > 0)) return sorted[0]!;
  if (p >= 100) return sorted[n - 1]!;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1]!;
}

export interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    min: n ? sorted[0]! : NaN,
    max: n ? sorted[n - 1]! : NaN,
    mean: n ? sum / n : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
  };
}

/** Operations per second; 0 when no time has passed (never Infinity). */
export function rate(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : 0;
}

/** value / base, or undefined when either side is missing or the base is not positive. */
export function ratio(value: number | undefined, base: number | undefined): number | undefined {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base <= 0) return undefined;
  return value / base;
}

export type Counters = Record<string, number>;

/** after − before, key by key (keys missing before count from 0). */
export function deltaCounters(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const key of Object.keys(after)) out[key] = after[key]! - (before[key] ?? 0);
  return out;
}

export function sumCounters(list: readonly Counters[]): Counters {
  const out: Counters = {};
  for (const counters of list) {
    for (const [key, value] of Object.entries(counters)) out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

export interface HistogramJson {
  min: number;
  growth: number;
  counts: number[];
  count: number;
  lowest: number;
  highest: number;
  sum: number;
}

/**
 * Values (milliseconds here) in buckets whose bounds grow by `growth` (1 % by default), from
 * `min` up to `max`; anything outside is clamped to the first or last bucket, and the exact
 * lowest and highest values are kept. Percentiles are the bucket's upper bound (never above the
 * highest value seen), so they are within `growth` of the true value.
 */
export class LogHistogram {
  readonly counts: Float64Array;
  count = 0;
  lowest = Infinity;
  highest = -Infinity;
  sum = 0;
  private readonly logGrowth: number;

  constructor(readonly min = 0.001, readonly max = 600_000, readonly growth = 1.01) {
    if (!(min > 0) || !(max > min) || !(growth > 1)) throw new RangeError('LogHistogram needs 0 < min < max and growth > 1');
    this.logGrowth = Math.log(growth);
    this.counts = new Float64Array(this.indexOf(max) + 1);
  }

  private indexOf(value: number): number {
    if (!(value > this.min)) return 0;
    return 1 + Math.floor(Math.log(value / this.min) / this.logGrowth + 1e-9);
  }

  /** Upper bound of bucket `index`. */
  upperBound(index: number): number {
    return this.min * this.growth ** index;
  }

  record(value: number): void {
    if (!Number.isFinite(value)) return;
    const index = Math.min(this.counts.length - 1, this.indexOf(value));
    this.counts[index]!++;
    this.count++;
    this.sum += value;
    if (value < this.lowest) this.lowest = value;
    if (value > this.highest) this.highest = value;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.lowest = Infinity;
    this.highest = -Infinity;
    this.sum = 0;
  }

  merge(other: LogHistogram | HistogramJson): void {
    if (other.min !== this.min || other.growth !== this.growth) throw new RangeError('histograms with different buckets');
    const counts = other.counts;
    for (let i = 0; i < counts.length && i < this.counts.length; i++) this.counts[i]! += counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.count > 0) {
      this.lowest = Math.min(this.lowest, other.lowest);
      this.highest = Math.max(this.highest, other.highest);
    }
  }

  get mean(): number {
    return this.count > 0 ? this.sum / this.count : NaN;
  }

  /** Nearest-rank percentile, `p` in [0, 100]; NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    if (!(p > 0)) return this.lowest;
    if (p >= 100) return this.highest;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.lowest, Math.min(this.highest, this.upperBound(i)));
    }
    return this.highest;
  }

  /** A compact form for IPC: trailing empty buckets dropped. */
  toJSON(): HistogramJson {
    let last = this.counts.length - 1;
    while (last >= 0 && this.counts[last] === 0) last--;
    return {
      min: this.min, growth: this.growth, counts: Array.from(this.counts.subarray(0, last + 1)),
      count: this.count, lowest: this.lowest, highest: this.highest, sum: this.sum,
    };
  }

  static fromJSON(json: HistogramJson, max = 600_000): LogHistogram {
    const h = new LogHistogram(json.min, max, json.growth);
    h.merge(json);
    return h;
  }
}
