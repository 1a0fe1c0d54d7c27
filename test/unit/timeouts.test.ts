import { expect } from 'chai';
import { timeoutList, TimeoutList, type Expiring } from '../../router/timeouts.js';

/**
 * router/timeouts.ts (issue 16): one timer per kind and length of timeout instead of one per
 * session. An entry runs out no earlier than its time, once, unless cancelled or restarted.
 */

function entry(log: string[], name: string, onTimeout?: (list: TimeoutList) => void): Expiring {
  return { timedOut: (list) => { log.push(`${name}:${list.reason}`); onTimeout?.(list); } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('timeout lists (router/timeouts.ts)', function () {
  it('an entry runs out once, no earlier than its time, with the list\'s reason', async function () {
    const list = new TimeoutList('hello timeout', 60);
    const log: string[] = [];
    const started = performance.now();
    let at = 0;
    list.start(entry(log, 'a', () => { at = performance.now(); }));
    await sleep(30);
    expect(log).to.deep.equal([]);
    await sleep(80);
    expect(log).to.deep.equal(['a:hello timeout']);
    expect(at - started).to.be.at.least(59);
    expect(list.size).to.equal(0);
    await sleep(80);
    expect(log, 'only once').to.have.length(1);
  });

  it('a cancelled entry never runs out; the others still do, in the order they were started', async function () {
    const list = new TimeoutList('t', 40);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => entry(log, name));
    list.start(a!);
    list.start(b!);
    list.start(c!);
    list.cancel(b!);
    expect(list.has(b!)).to.equal(false);
    await sleep(90);
    expect(log).to.deep.equal(['a:t', 'c:t']);
  });

  it('a restarted entry runs out a full time after the restart, behind the ones started before it', async function () {
    const list = new TimeoutList('t', 60);
    const log: string[] = [];
    const a = entry(log, 'a');
    const b = entry(log, 'b');
    list.start(a);
    await sleep(30);
    list.start(b);
    list.start(a); // restart: now due after b
    await sleep(45); // 75 ms after a's first start, 45 after its restart
    expect(log).to.deep.equal([]);
    await sleep(60);
    expect(log).to.deep.equal(['b:t', 'a:t']);
  });

  it('an entry may start a timeout (on this list or another) when it runs out', async function () {
    const list = new TimeoutList('first', 30);
    const other = new TimeoutList('second', 30);
    const log: string[] = [];
    const a = entry(log, 'a', (from) => { if (from === list) other.start(a); });
    const b = entry(log, 'b', (from) => { if (log.length < 3) list.start(b); });
    list.start(a);
    list.start(b);
    await sleep(150);
    expect(log).to.deep.equal(['a:first', 'b:first', 'a:second', 'b:first']);
  });

  it('timeoutList: one list per reason and length', function () {
    expect(timeoutList('hello timeout', 5000)).to.equal(timeoutList('hello timeout', 5000));
    expect(timeoutList('hello timeout', 5000)).to.not.equal(timeoutList('hello timeout', 200));
    expect(timeoutList('hello timeout', 5000)).to.not.equal(timeoutList('authentication timeout', 5000));
    expect(timeoutList('hello timeout', 200).ms).to.equal(200);
  });
});
