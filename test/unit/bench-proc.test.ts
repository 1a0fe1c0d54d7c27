import { expect } from 'chai';
import {
  cpuSecondsOf, machineBusySeconds, openFileLimitOf, parseCpuTimes, parseOpenFileLimit, parsePortRange, parseProcStat,
  parseProcStatus, sampleProcess,
} from '../../bench/lib/proc.js';

// A real /proc/<pid>/stat line (Linux 6.x), with a comm that contains spaces and parentheses.
const STAT = '4242 (node (bench) x) S 4100 4242 4100 34816 4242 4194304 12345 0 3 0 1234 567 0 0 20 0 11 0 98765 1130000000 25000 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0';

describe('bench /proc parsing', () => {
  it('reads utime, stime, threads and rss from /proc/<pid>/stat, counting fields after the last ")"', () => {
    const stat = parseProcStat(STAT);
    expect(stat).to.deep.equal({
      pid: 4242, comm: 'node (bench) x', state: 'S', utimeTicks: 1234, stimeTicks: 567, numThreads: 11, rssPages: 25000,
    });
    expect(cpuSecondsOf(stat, 100)).to.be.closeTo(18.01, 1e-9);
  });

  it('rejects what is not a stat line', () => {
    expect(() => parseProcStat('garbage')).to.throw();
    expect(() => parseProcStat('1 (x) S 1 2')).to.throw(/field 14/);
  });

  it('reads VmRSS, VmHWM and Threads from /proc/<pid>/status', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  250000 kB\nVmRSS:\t  200000 kB\nThreads:\t11\n';
    expect(parseProcStatus(status)).to.deep.equal({ vmRssKiB: 200000, vmHwmKiB: 250000, threads: 11 });
    expect(parseProcStatus('Name:\tkthread\n')).to.deep.equal({});
  });

  it('reads the open-file limit from /proc/<pid>/limits', () => {
    const limits = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max cpu time              unlimited            unlimited            seconds   ',
      'Max open files            20000                1048576              files     ',
    ].join('\n');
    expect(parseOpenFileLimit(limits)).to.deep.equal({ soft: 20000, hard: 1048576 });
    expect(parseOpenFileLimit('Max open files            unlimited            unlimited            files')).to.deep.equal({ soft: Infinity, hard: Infinity });
    expect(parseOpenFileLimit('nothing here')).to.equal(undefined);
  });

  it('sizes the ephemeral port range', () => {
    expect(parsePortRange('32768\t60999\n')).to.equal(28232);
    expect(parsePortRange('bad')).to.equal(undefined);
  });

  it('reads machine-wide busy and total ticks from the cpu line of /proc/stat', () => {
    const stat = 'cpu  100 5 50 1000 20 3 7 0 0 0\ncpu0 50 2 25 500 10 1 3 0 0 0\nintr 1\n';
    expect(parseCpuTimes(stat)).to.deep.equal({ total: 1185, busy: 165 });
    expect(parseCpuTimes('intr 1\n')).to.equal(undefined);
  });

  it('samples this process (on Linux) and returns undefined for a pid that does not exist', function () {
    if (process.platform !== 'linux') this.skip();
    const sample = sampleProcess(process.pid)!;
    expect(sample.cpuSeconds).to.be.greaterThan(0);
    expect(sample.rssBytes).to.be.greaterThan(1024 * 1024);
    expect(sampleProcess(2 ** 30)).to.equal(undefined);
    expect(openFileLimitOf('self')!.soft).to.be.greaterThan(0);
    expect(machineBusySeconds()).to.be.greaterThan(0);
  });
});
