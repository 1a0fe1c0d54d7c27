import { expect } from 'chai';
import fc from 'fast-check';
import { UriIndex } from '../../router/matching/uri-index.js';
import type { MatchPolicy } from '../../router/protocol/uri.js';
import { specMatches } from '../helpers/uri-oracle.js';

// ---- naive oracle: linear scan implementing wamp-spec §7.2 / §8.3 literally ----

interface Entry {
  uri: string;
  match: MatchPolicy;
  value: string;
}

/** Lengths of the runs of literal components before each wildcard, plus the trailing run. */
function literalRuns(pattern: string): number[] {
  const runs: number[] = [];
  let run = 0;
  for (const c of pattern.split('.')) {
    if (c === '') {
      runs.push(run);
      run = 0;
    } else run++;
  }
  runs.push(run);
  return runs;
}

const RANK: Record<MatchPolicy, number> = { exact: 0, prefix: 1, wildcard: 2 };

/** Negative when `a` takes precedence over `b`. */
function precedence(a: Entry, b: Entry): number {
  if (a.match !== b.match) return RANK[a.match] - RANK[b.match];
  if (a.match === 'prefix') return b.uri.length - a.uri.length;
  if (a.match === 'wildcard') {
    const ra = literalRuns(a.uri);
    const rb = literalRuns(b.uri);
    for (let i = 0; i < Math.min(ra.length, rb.length); i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return rb.length - ra.length;
  }
  return 0;
}

function oracleMatchAll(entries: Iterable<Entry>, uri: string): string[] {
  return [...entries]
    .filter((e) => specMatches(e.uri, e.match, uri))
    .sort(precedence)
    .map((e) => e.value);
}

// ---- generators: a tiny component alphabet so that patterns collide often ----

const component = fc.constantFrom('a', 'b', 'ab', 'c');
const concreteUri = fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('.'));
const prefixPattern = fc
  .tuple(concreteUri, fc.nat())
  .map(([uri, n]) => uri.slice(0, n % (uri.length + 1))); // includes "", "a.", "a" (of "ab"), ...
const wildcardPattern = fc
  .array(fc.constantFrom('a', 'b', 'ab', 'c', ''), { minLength: 1, maxLength: 4 })
  .map((cs) => cs.join('.'));
const pattern: fc.Arbitrary<{ uri: string; match: MatchPolicy }> = fc.oneof(
  concreteUri.map((uri) => ({ uri, match: 'exact' as const })),
  prefixPattern.map((uri) => ({ uri, match: 'prefix' as const })),
  wildcardPattern.map((uri) => ({ uri, match: 'wildcard' as const })),
);
const op = fc.record({ kind: fc.constantFrom('set', 'set', 'delete'), pattern });

const keyOf = (uri: string, match: MatchPolicy) => `${match}\u0000${uri}`;

describe('UriIndex', () => {
  describe('matchAll', () => {
    it('exact matches only the identical URI', () => {
      const idx = new UriIndex<string>();
      idx.set('com.a.b', 'exact', 'X');
      expect(idx.matchAll('com.a.b')).to.deep.equal(['X']);
      expect(idx.matchAll('com.a')).to.deep.equal([]);
      expect(idx.matchAll('com.a.b.c')).to.deep.equal([]);
      expect(idx.matchAll('com.a.bb')).to.deep.equal([]);
    });

    it('prefix is a plain string prefix (spec §7.2 emergency example)', () => {
      const idx = new UriIndex<string>();
      idx.set('com.myapp.topic.emergency', 'prefix', 'P');
      expect(idx.matchAll('com.myapp.topic.emergency')).to.deep.equal(['P']);
      expect(idx.matchAll('com.myapp.topic.emergency-low')).to.deep.equal(['P']);
      expect(idx.matchAll('com.myapp.topic.emergency.11')).to.deep.equal(['P']);
      expect(idx.matchAll('com.myapp.topic.emerge')).to.deep.equal([]);
      expect(idx.matchAll('com.myapp.topic')).to.deep.equal([]);
    });

    it('the empty prefix matches everything, including ""', () => {
      const idx = new UriIndex<string>();
      idx.set('', 'prefix', 'ALL');
      for (const uri of ['', 'a', 'wamp.session.get', 'x.y.z']) expect(idx.matchAll(uri)).to.deep.equal(['ALL']);
    });

    it('wildcard: an empty component matches one component, counts must be equal (spec §7.2)', () => {
      const idx = new UriIndex<string>();
      idx.set('com.myapp..userevent', 'wildcard', 'W');
      expect(idx.matchAll('com.myapp.foo.userevent')).to.deep.equal(['W']);
      expect(idx.matchAll('com.myapp.bar.userevent')).to.deep.equal(['W']);
      expect(idx.matchAll('com.myapp.foo.userevent.bar')).to.deep.equal([]);
      expect(idx.matchAll('com.myapp.userevent')).to.deep.equal([]);
      expect(idx.matchAll('com.other.foo.userevent')).to.deep.equal([]);
    });

    it('wildcard patterns with leading, trailing and only empty components', () => {
      const idx = new UriIndex<string>();
      idx.set('.b.c', 'wildcard', 'lead');
      idx.set('a.b.', 'wildcard', 'trail');
      idx.set('..', 'wildcard', 'any3');
      idx.set('a.b.c', 'wildcard', 'literal');
      expect(idx.matchAll('a.b.c')).to.deep.equal(['literal', 'trail', 'lead', 'any3']);
      expect(idx.matchAll('x.b.c')).to.deep.equal(['lead', 'any3']);
      expect(idx.matchAll('x.y.z')).to.deep.equal(['any3']);
      expect(idx.matchAll('a.b')).to.deep.equal([]);
    });

    it('returns exact, then prefixes longest first, then wildcards best first', () => {
      const idx = new UriIndex<string>();
      idx.set('a1.', 'prefix', 'p-short');
      idx.set('a1..c3', 'wildcard', 'w-1');
      idx.set('a1.b2.c3', 'exact', 'e');
      idx.set('a1.b2.c', 'prefix', 'p-long');
      idx.set('a1.b2.', 'wildcard', 'w-2');
      idx.set('a1.b2', 'prefix', 'p-mid');
      expect(idx.matchAll('a1.b2.c3')).to.deep.equal(['e', 'p-long', 'p-mid', 'p-short', 'w-2', 'w-1']);
      expect(idx.matchAll('a1.b2.c4')).to.deep.equal(['p-long', 'p-mid', 'p-short', 'w-2']);
    });
  });

  describe('bestMatch (wamp-spec §8.3)', () => {
    const cases: { name: string; uri: string; patterns: [string, MatchPolicy][]; best: string }[] = [
      {
        name: 'longest prefix wins',
        uri: 'a1.b2.c3.d4.e325',
        patterns: [['a1.b2.c3', 'prefix'], ['a1.b2.c3.d4', 'prefix']],
        best: 'a1.b2.c3.d4',
      },
      {
        name: 'longer first literal run wins',
        uri: 'a1.b2.c33.d4.e5',
        patterns: [['a1.b2..d4.e5', 'wildcard'], ['a1.b2.c33..e5', 'wildcard']],
        best: 'a1.b2.c33..e5',
      },
      {
        name: 'tie on the first run, longer second run wins',
        uri: 'a1.b2.c88.d4.e5.f6.g7',
        patterns: [['a1.b2..d4.e5..g7', 'wildcard'], ['a1.b2..d4..f6.g7', 'wildcard']],
        best: 'a1.b2..d4.e5..g7',
      },
    ];
    for (const c of cases) {
      for (const order of ['as listed', 'reversed'] as const) {
        it(`${c.name} (${c.uri}, inserted ${order})`, () => {
          const idx = new UriIndex<string>();
          const patterns = order === 'reversed' ? [...c.patterns].reverse() : c.patterns;
          for (const [uri, match] of patterns) idx.set(uri, match, uri);
          expect(idx.bestMatch(c.uri)).to.equal(c.best);
        });
      }
    }

    it('exact beats prefix beats wildcard', () => {
      const idx = new UriIndex<string>();
      idx.set('com.app..run', 'wildcard', 'wildcard');
      idx.set('com.app.job.ru', 'prefix', 'prefix');
      idx.set('com.app.job.run', 'exact', 'exact');
      expect(idx.bestMatch('com.app.job.run')).to.equal('exact');
      idx.delete('com.app.job.run', 'exact');
      expect(idx.bestMatch('com.app.job.run')).to.equal('prefix');
      idx.delete('com.app.job.ru', 'prefix');
      expect(idx.bestMatch('com.app.job.run')).to.equal('wildcard');
      idx.delete('com.app..run', 'wildcard');
      expect(idx.bestMatch('com.app.job.run')).to.equal(undefined);
    });

    it('a short prefix beats a wildcard with more literal components', () => {
      const idx = new UriIndex<string>();
      idx.set('a.b.c.', 'wildcard', 'w');
      idx.set('a', 'prefix', 'p');
      expect(idx.bestMatch('a.b.c.d')).to.equal('p');
    });

    it('backtracks from a literal dead end to a wildcard branch', () => {
      const idx = new UriIndex<string>();
      idx.set('a.b.x', 'wildcard', 'dead-end');
      idx.set('a..c', 'wildcard', 'wild');
      expect(idx.bestMatch('a.b.c')).to.equal('wild');
      expect(idx.matchAll('a.b.c')).to.deep.equal(['wild']);
    });
  });

  describe('maintenance', () => {
    it('get/set/delete per policy, replace keeps size, delete and re-add', () => {
      const idx = new UriIndex<number>();
      idx.set('a.b', 'exact', 1);
      idx.set('a.b', 'prefix', 2);
      idx.set('a.b', 'wildcard', 3);
      expect(idx.size).to.equal(3);
      expect([idx.get('a.b', 'exact'), idx.get('a.b', 'prefix'), idx.get('a.b', 'wildcard')]).to.deep.equal([1, 2, 3]);
      expect(idx.get('a', 'prefix')).to.equal(undefined);
      expect(idx.get('a.', 'wildcard')).to.equal(undefined);

      idx.set('a.b', 'prefix', 20);
      expect(idx.size).to.equal(3);
      expect(idx.get('a.b', 'prefix')).to.equal(20);

      expect(idx.delete('a.b', 'prefix')).to.equal(true);
      expect(idx.delete('a.b', 'prefix')).to.equal(false);
      expect(idx.delete('a', 'prefix')).to.equal(false);
      expect(idx.delete('a.b.c', 'wildcard')).to.equal(false);
      expect(idx.size).to.equal(2);
      expect(idx.has('a.b', 'prefix')).to.equal(false);
      expect(idx.matchAll('a.b')).to.deep.equal([1, 3]);

      idx.set('a.b', 'prefix', 200);
      expect(idx.matchAll('a.bc')).to.deep.equal([200]);
      expect(idx.size).to.equal(3);
    });

    it('values() and entries() list every stored entry once', () => {
      const idx = new UriIndex<string>();
      const stored: [string, MatchPolicy][] = [
        ['x', 'exact'],
        ['', 'prefix'],
        ['x.y', 'prefix'],
        ['x.', 'prefix'],
        ['..', 'wildcard'],
        ['x..z', 'wildcard'],
        ['x.y.z', 'wildcard'],
      ];
      for (const [uri, match] of stored) idx.set(uri, match, `${match}:${uri}`);
      expect([...idx.values()].sort()).to.deep.equal(stored.map(([u, m]) => `${m}:${u}`).sort());
      expect([...idx.entries()].map(([u, m, v]) => [u, m, v]).sort()).to.deep.equal(
        stored.map(([u, m]) => [u, m, `${m}:${u}`]).sort(),
      );
    });

    it('rejects undefined values and unknown policies', () => {
      const idx = new UriIndex<string | undefined>();
      expect(() => idx.set('a', 'exact', undefined)).to.throw(TypeError);
      expect(() => idx.set('a', 'regex' as MatchPolicy, 'v')).to.throw(TypeError);
      expect(idx.size).to.equal(0);
    });

    it('delete prunes only the nodes no other pattern needs', () => {
      const idx = new UriIndex<string>();
      idx.set('a.b', 'prefix', 'short');
      idx.set('a.bcd', 'prefix', 'long');
      expect(idx.nodeCount()).to.equal(5); // a . b c d
      idx.delete('a.bcd', 'prefix');
      expect(idx.nodeCount()).to.equal(3); // a . b
      expect(idx.matchAll('a.bcd')).to.deep.equal(['short']);

      idx.set('a..c', 'wildcard', 'w1');
      idx.set('a.b.c', 'wildcard', 'w2');
      expect(idx.nodeCount()).to.equal(3 + 5); // a, (wild, b), (c, c)
      idx.delete('a..c', 'wildcard');
      expect(idx.nodeCount()).to.equal(3 + 3);
      expect(idx.matchAll('a.x.c')).to.deep.equal([]);
      expect(idx.matchAll('a.b.c')).to.deep.equal(['short', 'w2']);
    });

    it('churn returns to size 0 and zero trie nodes', () => {
      const idx = new UriIndex<number>();
      const live = new Map<string, [string, MatchPolicy]>();
      let seed = 7;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const comps = ['a', 'b', 'ab', 'c', ''];
      const policies: MatchPolicy[] = ['exact', 'prefix', 'wildcard'];
      for (let i = 0; i < 5000; i++) {
        const parts = Array.from({ length: 1 + rand(5) }, () => comps[rand(comps.length)]!);
        const match = policies[rand(3)]!;
        const uri = match === 'exact' ? parts.filter((p) => p !== '').join('.') || 'x' : parts.join('.');
        const key = keyOf(uri, match);
        if (rand(2) === 0) {
          idx.set(uri, match, i);
          live.set(key, [uri, match]);
        } else {
          expect(idx.delete(uri, match)).to.equal(live.delete(key));
        }
        expect(idx.size).to.equal(live.size);
      }
      expect(idx.size).to.be.greaterThan(0);
      for (const [uri, match] of live.values()) expect(idx.delete(uri, match)).to.equal(true);
      expect(idx.size).to.equal(0);
      expect(idx.nodeCount()).to.equal(0);
      expect([...idx.values()]).to.deep.equal([]);
    });

    it('clear() empties everything', () => {
      const idx = new UriIndex<string>();
      idx.set('a', 'exact', 'e');
      idx.set('a.', 'prefix', 'p');
      idx.set('a.', 'wildcard', 'w');
      idx.clear();
      expect(idx.size).to.equal(0);
      expect(idx.nodeCount()).to.equal(0);
      expect(idx.matchAll('a.b')).to.deep.equal([]);
      expect(idx.bestMatch('a')).to.equal(undefined);
    });
  });

  describe('properties against a naive oracle', () => {
    it('matchAll, bestMatch, get and size agree with a linear scan after any set/delete sequence', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), fc.array(concreteUri, { minLength: 1, maxLength: 12 }), (ops, queries) => {
          const idx = new UriIndex<string>();
          const model = new Map<string, Entry>();
          ops.forEach(({ kind, pattern: { uri, match } }, n) => {
            const key = keyOf(uri, match);
            if (kind === 'set') {
              const value = `${match}:${uri}#${n}`;
              idx.set(uri, match, value);
              model.set(key, { uri, match, value });
            } else {
              expect(idx.delete(uri, match)).to.equal(model.delete(key));
            }
          });
          expect(idx.size).to.equal(model.size);
          for (const e of model.values()) expect(idx.get(e.uri, e.match)).to.equal(e.value);
          for (const uri of queries) {
            const expected = oracleMatchAll(model.values(), uri);
            expect(idx.matchAll(uri), `matchAll(${uri})`).to.deep.equal(expected);
            expect(idx.bestMatch(uri), `bestMatch(${uri})`).to.equal(expected[0]);
          }
          for (const e of model.values()) idx.delete(e.uri, e.match);
          expect(idx.size).to.equal(0);
          expect(idx.nodeCount()).to.equal(0);
        }),
        { seed: 42, numRuns: 300 },
      );
    });

    it('bestMatch among wildcards only follows the run-by-run rule', () => {
      fc.assert(
        fc.property(fc.uniqueArray(wildcardPattern, { maxLength: 12 }), concreteUri, (patterns, uri) => {
          const idx = new UriIndex<string>();
          for (const p of patterns) idx.set(p, 'wildcard', p);
          const entries = patterns.map((p) => ({ uri: p, match: 'wildcard' as const, value: p }));
          expect(idx.bestMatch(uri)).to.equal(oracleMatchAll(entries, uri)[0]);
        }),
        { seed: 42, numRuns: 300 },
      );
    });
  });
});
