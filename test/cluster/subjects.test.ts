import { expect } from 'chai';
import fc from 'fast-check';
import { authSyncSubject, decodeToken, encodeToken, eventSubject, heartbeatSubject, heartbeatWildcard, metaSubject, nodeResultSubject, nodeRpcSubject, subscriptionSubject } from '../../router/cluster/subjects.js';
import { specMatches } from '../helpers/uri-oracle.js';

const SCHEME = { prefix: 'sy' };

/** NATS subject matching: `*` is one token, `>` one or more trailing tokens. */
function natsMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

// Small alphabets so that patterns and URIs collide often; hostile characters for NATS included.
const CHAR = fc.constantFrom('a', 'b', 'ab', 'é', '*', '>', ' ', '=', '-', '_', '€', '\u{1F600}');
const COMPONENT = fc.array(CHAR, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(''));
const URI = fc.array(COMPONENT, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));
const PATTERN_COMPONENT = fc.oneof(COMPONENT, fc.constant(''));
const WILDCARD = fc.array(PATTERN_COMPONENT, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));

describe('cluster subjects: URI components as NATS tokens', () => {
  it('encodes injectively into the safe alphabet, never empty, never * or >', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), (text) => {
        const token = encodeToken(text);
        expect(token).to.match(/^[A-Za-z0-9_=-]+$/);
        expect(token).not.to.be.oneOf(['*', '>']);
        expect(decodeToken(token)).to.equal(text);
      }),
      { numRuns: 500 },
    );
    expect(encodeToken('a.*.b')).to.equal('a=2E=2A=2Eb');
    expect(encodeToken('größe')).to.equal('gr=C3=B6=C3=9Fe');
    expect(encodeToken('=')).to.equal('=3D');
  });

  it('an event subject has one token per URI component', () => {
    fc.assert(
      fc.property(URI, (uri) => {
        expect(eventSubject(SCHEME, 'realm.1', uri).split('.')).to.have.length(4 + uri.split('.').length);
      }),
    );
  });

  it('no realm, URI or node id makes one kind of subject stand for another (realm n, topic rpc is not node e\'s invocations)', () => {
    const NAME = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
    fc.assert(
      fc.property(NAME, URI, NAME, (realm, uri, node) => {
        const realmSubjects = [eventSubject(SCHEME, realm, uri), metaSubject(SCHEME, realm), authSyncSubject(SCHEME, realm)];
        const nodeSubjects = [nodeRpcSubject(SCHEME, node), nodeResultSubject(SCHEME, node), heartbeatSubject(SCHEME, node)];
        for (const subject of realmSubjects) {
          expect(nodeSubjects).to.not.include(subject);
          expect(natsMatches(heartbeatWildcard(SCHEME), subject), subject).to.equal(false);
        }
      }),
      { numRuns: 2000 },
    );
    expect(eventSubject(SCHEME, 'n', 'rpc')).to.not.equal(nodeRpcSubject(SCHEME, 'e'));
    expect(metaSubject(SCHEME, 'hb')).to.not.equal(heartbeatSubject(SCHEME, 'meta'));
  });

  for (const match of ['exact', 'prefix', 'wildcard'] as const) {
    it(`a ${match} subscription's subject plus its filter match exactly the URIs WAMP matches`, () => {
      const pattern = match === 'wildcard' ? WILDCARD : match === 'prefix' ? fc.oneof(URI, URI.map((u) => `${u}.`), fc.constant('')) : URI;
      fc.assert(
        fc.property(pattern, URI, (p, uri) => {
          const { subject, filter } = subscriptionSubject(SCHEME, 'realm1', p, match);
          const delivered = natsMatches(subject, eventSubject(SCHEME, 'realm1', uri)) && (!filter || uri.startsWith(p));
          expect(delivered, `${match} ${JSON.stringify(p)} vs ${JSON.stringify(uri)} via ${subject}`).to.equal(specMatches(p, match, uri));
        }),
        { numRuns: 2000 },
      );
    });
  }

  it('a prefix subscription needs the local filter only when it ends inside a component', () => {
    expect(subscriptionSubject(SCHEME, 'r', 'com.app.us', 'prefix')).to.deep.equal({ subject: 'sy.r.r.e.com.app.>', filter: true });
    expect(subscriptionSubject(SCHEME, 'r', 'com.app.', 'prefix')).to.deep.equal({ subject: 'sy.r.r.e.com.app.>', filter: false });
    expect(subscriptionSubject(SCHEME, 'r', '', 'prefix')).to.deep.equal({ subject: 'sy.r.r.e.>', filter: false });
    expect(subscriptionSubject(SCHEME, 'r', 'a..c', 'wildcard').subject).to.equal('sy.r.r.e.a.*.c');
  });
});
