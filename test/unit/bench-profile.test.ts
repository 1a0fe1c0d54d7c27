import { expect } from 'chai';
import { selfTimes, shortLocation, topSelfTime, type CpuProfile } from '../../bench/lib/profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0, scriptId: '0' });

/** root → (idle), route, send; send appears twice (two call paths). 1 s of samples. */
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 6] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('route', 'file:///work/main/dist/router/dealer.js', 199), children: [5] },
    { id: 4, callFrame: frame('(garbage collector)') },
    { id: 5, callFrame: frame('send', 'file:///work/main/node_modules/ws/lib/sender.js', 353) },
    { id: 6, callFrame: frame('send', 'file:///work/main/node_modules/ws/lib/sender.js', 353) },
  ],
  startTime: 0,
  endTime: 1_000_000,
  samples: [2, 2, 2, 2, 2, 2, 3, 5, 6, 4],
  timeDeltas: new Array(10).fill(100_000),
};

describe('bench cpu profile summary', () => {
  it('adds up self time per function across call paths and leaves idle out', () => {
    const times = selfTimes(PROFILE);
    expect(times.map((t) => t.functionName)).to.deep.equal(['send', '(garbage collector)', 'route']);
    const send = times[0]!;
    expect(send.samples).to.equal(2);
    expect(send.selfMs).to.be.closeTo(200, 1e-9);
    expect(send.percent).to.be.closeTo(50, 1e-9);
    expect(send.location).to.equal('ws/lib/sender.js:354');
    expect(times.find((t) => t.functionName === 'route')!.location).to.equal('router/dealer.js:200');
  });

  it('topSelfTime keeps the first n', () => {
    expect(topSelfTime(PROFILE, 1)).to.have.length(1);
  });

  it('falls back to hitCount when the profile has no samples', () => {
    const profile: CpuProfile = {
      nodes: [{ id: 1, callFrame: frame('a'), hitCount: 3 }, { id: 2, callFrame: frame('b'), hitCount: 1 }],
      startTime: 0, endTime: 4000,
    };
    const times = selfTimes(profile);
    expect(times[0]).to.deep.include({ functionName: 'a', samples: 3, percent: 75 });
    expect(times[0]!.selfMs).to.be.closeTo(3, 1e-9);
  });

  it('shortens locations and names anonymous functions', () => {
    expect(shortLocation(frame('x', 'node:internal/streams/writable', 9))).to.equal('node:internal/streams/writable:10');
    expect(shortLocation(frame('x'))).to.equal('');
    const times = selfTimes({ nodes: [{ id: 1, callFrame: frame('') }], startTime: 0, endTime: 1000, samples: [1] });
    expect(times[0]!.functionName).to.equal('(anonymous)');
  });
});
