import { expect } from 'chai';
import { deltaCounters, LogHistogram, percentile, rate, ratio, sumCounters, summarize } from '../../bench/lib/stats.js';

describe('bench stats', () => {
  describe('percentile (nearest rank)', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    it('picks the nearest-rank element', () => {
      expect(percentile(sorted, 50)).to.equal(5);
      expect(percentile(sorted, 90)).to.equal(9);
      expect(percentile(sorted, 99)).to.equal(10);
      expect(percentile(sorted, 10)).to.equal(1);
      expect(percentile(sorted, 11)).to.equal(2);
    });

    it('clamps p to [0, 100] and handles one element and empty input', () => {
      expect(percentile(sorted, 0)).to.equal(1);
      expect(percentile(sorted, -5)).to.equal(1);
      expect(percentile(sorted, 100)).to.equal(10);
      expect(percentile(sorted, 250)).to.equal(10);
      expect(percentile([42], 99)).to.equal(42);
      expect(percentile([], 50)).to.be.NaN;
    });
  });

  it('summarize sorts a copy and reports mean and percentiles', () => {
    const values = [5, 1, 4, 2, 3];
    const s = summarize(values);
    expect(s).to.deep.include({ count: 5, min: 1, max: 5, mean: 3, p50: 3, p99: 5 });
    expect(values).to.deep.equal([5, 1, 4, 2, 3]);
    expect(summarize([]).count).to.equal(0);
  });

  it('rate is count per second and never Infinity', () => {
    expect(rate(5000, 2)).to.equal(2500);
    expect(rate(10, 0)).to.equal(0);
    expect(rate(10, -1)).to.equal(0);
  });

  it('ratio needs both sides and a positive base', () => {
    expect(ratio(30, 60)).to.equal(0.5);
    expect(ratio(undefined, 60)).to.equal(undefined);
    expect(ratio(30, undefined)).to.equal(undefined);
    expect(ratio(30, 0)).to.equal(undefined);
    expect(ratio(NaN, 10)).to.equal(undefined);
  });

  it('counters: deltas key by key, sums across workers', () => {
    expect(deltaCounters({ a: 10, b: 5 }, { a: 25, b: 5, c: 3 })).to.deep.equal({ a: 15, b: 0, c: 3 });
    expect(sumCounters([{ a: 1 }, { a: 2, b: 3 }, {}])).to.deep.equal({ a: 3, b: 3 });
  });

  describe('LogHistogram', () => {
    it('percentiles within the bucket growth of the exact value', () => {
      const h = new LogHistogram();
      const values: number[] = [];
      for (let i = 1; i <= 10_000; i++) values.push(i / 100); // 0.01 .. 100 ms
      for (const v of values) h.record(v);
      for (const p of [50, 90, 99, 99.9]) {
        const exact = percentile(values, p);
        const got = h.percentile(p);
        expect(got).to.be.at.least(exact * 0.999);
        expect(got).to.be.at.most(exact * 1.011);
      }
      expect(h.count).to.equal(10_000);
      expect(h.percentile(100)).to.equal(100);
      expect(h.percentile(0)).to.equal(0.01);
      expect(h.mean).to.be.closeTo(50.005, 1e-9);
    });

    it('never reports above the highest value, and clamps outliers into the end buckets', () => {
      const h = new LogHistogram(0.001, 1000);
      h.record(5);
      expect(h.percentile(50)).to.equal(5);
      h.record(1e9);
      h.record(0);
      h.record(-3);
      h.record(Number.NaN);
      expect(h.count).to.equal(4);
      expect(h.percentile(100)).to.equal(1e9);
      expect(h.percentile(0)).to.equal(-3);
      expect(h.percentile(1)).to.equal(0.001); // the first bucket's upper bound
    });

    it('merges across workers through its JSON form', () => {
      const a = new LogHistogram();
      const b = new LogHistogram();
      for (let i = 0; i < 100; i++) a.record(1);
      for (let i = 0; i < 100; i++) b.record(100);
      const merged = LogHistogram.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
      merged.merge(JSON.parse(JSON.stringify(b.toJSON())));
      expect(merged.count).to.equal(200);
      expect(merged.percentile(50)).to.be.closeTo(1, 0.011);
      expect(merged.percentile(51)).to.be.closeTo(100, 1.1);
      expect(merged.percentile(100)).to.equal(100);
    });

    it('an empty histogram merges as a no-op and has NaN percentiles', () => {
      const a = new LogHistogram();
      a.record(3);
      a.merge(JSON.parse(JSON.stringify(new LogHistogram().toJSON())));
      expect(a.count).to.equal(1);
      expect(a.percentile(50)).to.equal(3);
      expect(new LogHistogram().percentile(50)).to.be.NaN;
    });

    it('refuses to merge histograms with different buckets, and bad parameters', () => {
      expect(() => new LogHistogram(0.001, 1000, 1.01).merge(new LogHistogram(0.001, 1000, 1.05))).to.throw(RangeError);
      expect(() => new LogHistogram(0, 10)).to.throw(RangeError);
      expect(() => new LogHistogram(1, 10, 1)).to.throw(RangeError);
    });

    it('reset empties it', () => {
      const h = new LogHistogram();
      h.record(2);
      h.reset();
      expect(h.count).to.equal(0);
      expect(h.percentile(50)).to.be.NaN;
    });
  });
});
