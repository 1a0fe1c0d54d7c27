import { expect } from 'chai';
import { formatBytes, formatMarkdownTable, formatNumber, formatRatio, formatTable } from '../../bench/lib/table.js';

describe('bench table formatting', () => {
  it('formats numbers with separators and three significant digits', () => {
    expect(formatNumber(31234.5)).to.equal('31,235');
    expect(formatNumber(1000)).to.equal('1,000');
    expect(formatNumber(42)).to.equal('42');
    expect(formatNumber(12.345)).to.equal('12.3');
    expect(formatNumber(0.012345)).to.equal('0.0123');
    expect(formatNumber(0)).to.equal('0');
    expect(formatNumber(-2.5)).to.equal('-2.50');
    expect(formatNumber(undefined)).to.equal('-');
    expect(formatNumber(NaN)).to.equal('-');
    expect(formatNumber(Infinity)).to.equal('-');
  });

  it('formats ratios and byte sizes', () => {
    expect(formatRatio(0.8512)).to.equal('0.85x');
    expect(formatRatio(12.34)).to.equal('12.3x');
    expect(formatRatio(undefined)).to.equal('-');
    expect(formatBytes(512)).to.equal('512 B');
    expect(formatBytes(9 * 1024 + 512)).to.equal('9.50 KiB');
    expect(formatBytes(3 * 1024 * 1024)).to.equal('3 MiB');
    expect(formatBytes(undefined)).to.equal('-');
  });

  it('pads columns to the widest cell: first column left, the others right', () => {
    const out = formatTable(['name', 'value'], [['a', '1'], ['longer', '12,345']]);
    expect(out.split('\n')).to.deep.equal([
      'name     value',
      '------  ------',
      'a            1',
      'longer  12,345',
    ]);
  });

  it('honours explicit alignment and pads short rows', () => {
    const out = formatTable(['x', 'y', 'z'], [['1']], ['right', 'left', 'left']);
    expect(out.split('\n')[2]).to.equal('1');
  });

  it('writes a GitHub markdown table with escaped pipes', () => {
    const out = formatMarkdownTable(['a', 'b'], [['x|y', '2']]);
    expect(out).to.equal('| a | b |\n| --- | ---: |\n| x\\|y | 2 |');
  });
});
