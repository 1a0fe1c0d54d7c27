import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { CODECS, leadingInts, pool, signCra, trailingInt, trailingInts, typeAndId } from '../../bench/lib/wire.js';

const buf = (s: string) => Buffer.from(s, 'utf8');

describe('bench wire fast paths', () => {
  it('leadingInts reads the first integers of a JSON array frame without decoding it', () => {
    expect(leadingInts(buf('[50,123,{},["x"]]'), 2)).to.deep.equal([50, 123]);
    expect(leadingInts(buf('[68, 7, 99, {}]'), 3)).to.deep.equal([68, 7, 99]);
    expect(leadingInts(buf('[36,9007199254740992,1]'), 2)).to.deep.equal([36, 2 ** 53]);
  });

  it('leadingInts gives up on anything else', () => {
    expect(leadingInts(buf('{"a":1}'), 1)).to.equal(undefined);
    expect(leadingInts(buf('[6,{},"x"]'), 2)).to.equal(undefined);
    expect(leadingInts(buf('[-1,2]'), 1)).to.equal(undefined);
    expect(leadingInts(buf('[50]'), 2)).to.equal(undefined);
  });

  it('trailingInt reads the sequence number at the end of an EVENT', () => {
    expect(trailingInt(buf('[36,1,2,{},[417]]'))).to.equal(417);
    expect(trailingInt(buf('[36,1,2,{},[1,2,3]]'))).to.equal(3);
    expect(trailingInt(buf('[36,1,2,{},[417],{}]'))).to.equal(undefined);
    expect(trailingInt(buf('[36,1,2,{},["a1"]]'))).to.equal(undefined);
    expect(trailingInt(buf('[36,1,2,{},[1.5]]'))).to.equal(undefined);
  });

  it('trailingInts reads the last integers of the payload (sequence number and timestamp)', () => {
    expect(trailingInts(buf('[36,1,2,{},[417,1763900000123456]]'), 2)).to.deep.equal([417, 1763900000123456]);
    expect(trailingInts(buf('[36,1,2,{},[417, 99] ]'), 2)).to.deep.equal([417, 99]);
    expect(trailingInts(buf('[36,1,2,{},[99]]'), 2)).to.equal(undefined);
    expect(trailingInts(buf('[36,1,2,{},["x",99]]'), 2)).to.equal(undefined);
    expect(trailingInts(buf('[36,1,2,{},[1.5,99]]'), 2)).to.equal(undefined);
    expect(trailingInts(buf('7]'), 1)).to.equal(undefined);
  });

  it('typeAndId: fast for JSON, full decode for msgpack and unusual JSON', () => {
    expect(typeAndId(CODECS.json, buf('[50,77,{}]'))).to.deep.equal([50, 77]);
    expect(typeAndId(CODECS.json, buf('[50,77.0,{}]'))).to.deep.equal([50, 77]);
    expect(typeAndId(CODECS.msgpack, CODECS.msgpack.encode([70, 2 ** 40, {}]) as Buffer)).to.deep.equal([70, 2 ** 40]);
    expect(typeAndId(CODECS.json, buf('[6,{},"wamp.close.normal"]'))).to.equal(undefined);
    expect(typeAndId(CODECS.json, buf('not json'))).to.equal(undefined);
  });

  it('signs WAMP-CRA challenges with the key text as HMAC key (wamp-spec §6.2)', () => {
    const expected = createHmac('sha256', 'key').update('challenge').digest('base64');
    expect(signCra('key', 'challenge')).to.equal(expected);
  });

  it('pool runs every task with bounded concurrency', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await pool([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      done.push(item);
      running--;
    });
    expect(done.sort()).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).to.equal(3);
  });
});
