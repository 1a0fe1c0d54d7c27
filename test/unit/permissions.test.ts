import { expect } from 'chai';
import fc from 'fast-check';
import { RolePermissions, type Action, type Decision, type PermissionRule } from '../../realms/permissions.js';
import type { MatchPolicy } from '../../router/protocol/uri.js';
import { oracleDecide } from '../helpers/permission-oracle.js';

const ACTIONS: Action[] = ['call', 'register', 'publish', 'subscribe'];

// The oracle follows the README's precedence sentence (exact first, then more literal components,
// then the longer uri, ties merged); it replaced one that encoded the old "prefix beats wildcard".

const plain = (d: Decision): Decision => ({ allow: d.allow, disclose: d.disclose });

// ---- the overlapping rule table ----

const RULES: PermissionRule[] = [
  { uri: 'com.app.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true }, disclose: { caller: true } },
  // Duplicate (uri, match): all allows agree, disclosure is OR-ed in.
  { uri: 'com.app.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true }, disclose: { publisher: true } },
  { uri: 'com.app.admin', match: 'prefix', allow: { call: true } },
  { uri: 'com.app.admin.reset', match: 'exact', allow: { call: true, register: true }, disclose: { caller: true, publisher: true } },
  // Conflicting duplicate: call is denied here (deny beats allow), publish allowed here but missing above.
  { uri: 'com.app.admin.reset', match: 'exact', allow: { call: false, register: true, publish: true } },
  { uri: 'org..status', match: 'wildcard', allow: { subscribe: true, publish: true }, disclose: { publisher: true, caller: true } },
  { uri: 'org.eu.', match: 'wildcard', allow: { subscribe: true } },
  { uri: 'org.eu.status', match: 'wildcard', allow: { publish: true } },
  { uri: 'org.us.status', match: 'exact', allow: { call: true } },
];

/** Per action in ACTIONS order: '-' deny, 'A' allow, 'D' allow and disclose. */
const TABLE: [string, string, string][] = [
  ['com.app.orders.list', 'DDDD', 'merged duplicate prefix: caller and publisher disclosure OR-ed'],
  ['com.app.admin', 'A---', 'longer prefix com.app.admin wins over com.app.'],
  ['com.app.admin-panel', 'A---', 'prefix is a string prefix'],
  ['com.app.admin.reset.now', 'A---', 'longest prefix, not the exact rule'],
  ['com.app.admin.reset', '-D--', 'exact duplicates: call denied by one, publish missing in one'],
  ['com.app', '----', 'com.app. needs the dot'],
  ['com.apple', '----', 'no rule'],
  ['org.us.status', 'A---', 'exact beats wildcard org..status'],
  ['org.uk.status', '--DD', 'wildcard org..status; caller flag irrelevant to publish/subscribe'],
  ['org.eu.status', '--A-', 'all-literal wildcard beats org.eu. and org..status'],
  ['org.eu.other', '---A', 'only org.eu. matches'],
  ['org.eu.status.x', '----', 'wildcards need the same component count'],
  ['wamp.session.get', '----', 'default deny'],
];

function expected(code: string, i: number): Decision {
  const c = code[i];
  return { allow: c !== '-', disclose: c === 'D' };
}

describe('RolePermissions', () => {
  describe('overlapping rule table', () => {
    const perms = new RolePermissions(RULES);
    for (const [uri, code, why] of TABLE) {
      it(`${uri} → ${code} (${why})`, () => {
        ACTIONS.forEach((action, i) => {
          expect(plain(perms.decide(uri, action)), action).to.deep.equal(expected(code, i));
          expect(plain(perms.decide(uri, action)), `${action} oracle`).to.deep.equal(oracleDecide(RULES, uri, action));
        });
      });
    }
  });

  it('denies everything with no rules', () => {
    const perms = new RolePermissions([]);
    for (const action of ACTIONS) expect(plain(perms.decide('com.x', action))).to.deep.equal({ allow: false, disclose: false });
  });

  it('a missing action flag means deny', () => {
    const perms = new RolePermissions([{ uri: 'com.x', match: 'exact', allow: { subscribe: true } }]);
    expect(perms.decide('com.x', 'subscribe').allow).to.equal(true);
    expect(perms.decide('com.x', 'publish').allow).to.equal(false);
    expect(perms.decide('com.x', 'call').allow).to.equal(false);
  });

  it('"" prefix allow-all with a "wamp." prefix carve-out', () => {
    const all = { call: true, register: true, publish: true, subscribe: true };
    const perms = new RolePermissions([
      { uri: '', match: 'prefix', allow: all },
      { uri: 'wamp.', match: 'prefix', allow: {} },
    ]);
    for (const action of ACTIONS) {
      expect(perms.decide('wamp.session.get', action).allow, `wamp ${action}`).to.equal(false);
      expect(perms.decide('com.x', action).allow, `com.x ${action}`).to.equal(true);
      expect(perms.decide('wampx.y', action).allow, `wampx ${action}`).to.equal(true);
    }
  });

  it('disclose flags map caller to call/register and publisher to publish/subscribe', () => {
    const all = { call: true, register: true, publish: true, subscribe: true };
    const perms = new RolePermissions([
      { uri: 'c', match: 'exact', allow: all, disclose: { caller: true } },
      { uri: 'p', match: 'exact', allow: all, disclose: { publisher: true } },
      { uri: 'n', match: 'exact', allow: all, disclose: { caller: false, publisher: false } },
      { uri: 'd', match: 'exact', allow: { call: false, publish: false }, disclose: { caller: true, publisher: true } },
    ]);
    const disclosed = (uri: string) => ACTIONS.map((a) => perms.decide(uri, a).disclose);
    expect(disclosed('c')).to.deep.equal([true, true, false, false]);
    expect(disclosed('p')).to.deep.equal([false, false, true, true]);
    expect(disclosed('n')).to.deep.equal([false, false, false, false]);
    // A denied decision never discloses.
    expect(disclosed('d')).to.deep.equal([false, false, false, false]);
  });

  it('returns a frozen decision that callers cannot corrupt', () => {
    const perms = new RolePermissions([{ uri: 'a', match: 'exact', allow: { call: true } }]);
    const d = perms.decide('a', 'call');
    expect(() => {
      (d as { allow: boolean }).allow = false;
    }).to.throw(TypeError);
    expect(perms.decide('a', 'call').allow).to.equal(true);
  });

  it('rejects a bad cacheSize and a bad match policy', () => {
    expect(() => new RolePermissions([], { cacheSize: -1 })).to.throw(RangeError);
    expect(() => new RolePermissions([], { cacheSize: 1.5 })).to.throw(RangeError);
    expect(() => new RolePermissions([{ uri: 'a', match: 'glob' as MatchPolicy, allow: {} }])).to.throw(TypeError);
  });

  it('denies an unknown action from an untyped caller', () => {
    const perms = new RolePermissions([{ uri: '', match: 'prefix', allow: { call: true } }]);
    expect(perms.decide('a', 'toString' as Action).allow).to.equal(false);
  });

  describe('cache', () => {
    it('is bounded: clears when full', () => {
      const perms = new RolePermissions([{ uri: '', match: 'prefix', allow: { call: true } }], { cacheSize: 3 });
      const seen: number[] = [];
      for (let i = 0; i < 10; i++) {
        perms.decide(`u${i}`, 'call');
        seen.push(perms.cachedDecisions);
      }
      expect(seen).to.deep.equal([1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
      perms.clearCache();
      expect(perms.cachedDecisions).to.equal(0);
    });

    it('keys by action and uri', () => {
      const perms = new RolePermissions([{ uri: 'a', match: 'exact', allow: { call: true } }]);
      expect(perms.decide('a', 'call').allow).to.equal(true);
      expect(perms.decide('a', 'register').allow).to.equal(false);
      expect(perms.decide('a', 'call').allow).to.equal(true);
      expect(perms.cachedDecisions).to.equal(2);
    });

    it('cacheSize 0 disables caching', () => {
      const perms = new RolePermissions([], { cacheSize: 0 });
      perms.decide('a', 'call');
      expect(perms.cachedDecisions).to.equal(0);
    });
  });

  describe('properties', () => {
    const component = fc.constantFrom('a', 'b', 'ab', 'c');
    const concreteUri = fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('.'));
    const ruleUri = fc.oneof(
      concreteUri.map((uri) => ({ uri, match: 'exact' as const })),
      fc.tuple(concreteUri, fc.nat()).map(([u, n]) => ({ uri: u.slice(0, n % (u.length + 1)), match: 'prefix' as const })),
      fc
        .array(fc.constantFrom('a', 'b', 'ab', 'c', ''), { minLength: 1, maxLength: 4 })
        .map((cs) => ({ uri: cs.join('.'), match: 'wildcard' as const })),
    );
    const flags = fc.record(
      { call: fc.boolean(), register: fc.boolean(), publish: fc.boolean(), subscribe: fc.boolean() },
      { requiredKeys: [] },
    );
    const disclose = fc.option(fc.record({ caller: fc.boolean(), publisher: fc.boolean() }, { requiredKeys: [] }), {
      nil: undefined,
    });
    const rule: fc.Arbitrary<PermissionRule> = fc
      .tuple(ruleUri, flags, disclose)
      .map(([{ uri, match }, allow, d]) => (d === undefined ? { uri, match, allow } : { uri, match, allow, disclose: d }));
    // Few distinct rule URIs relative to the rule count, so duplicate (uri, match) pairs are common.
    const rules = fc.array(rule, { maxLength: 15 });
    const queries = fc.array(fc.tuple(concreteUri, fc.constantFrom(...ACTIONS)), { minLength: 1, maxLength: 20 });

    it('decide agrees with a linear-scan oracle', () => {
      fc.assert(
        fc.property(rules, queries, (rs, qs) => {
          const perms = new RolePermissions(rs);
          for (const [uri, action] of qs) {
            expect(plain(perms.decide(uri, action)), `${action} ${uri}`).to.deep.equal(oracleDecide(rs, uri, action));
          }
        }),
        { seed: 42, numRuns: 300 },
      );
    });

    it('cached answers equal uncached answers, including across cache clears', () => {
      fc.assert(
        fc.property(rules, queries, (rs, qs) => {
          const uncached = new RolePermissions(rs, { cacheSize: 0 });
          const cached = new RolePermissions(rs);
          const tiny = new RolePermissions(rs, { cacheSize: 2 });
          for (let round = 0; round < 2; round++) {
            for (const [uri, action] of qs) {
              const want = plain(uncached.decide(uri, action));
              expect(plain(cached.decide(uri, action))).to.deep.equal(want);
              expect(plain(tiny.decide(uri, action))).to.deep.equal(want);
            }
          }
          expect(tiny.cachedDecisions).to.be.at.most(2);
          expect(cached.cachedDecisions).to.equal(new Set(qs.map(([u, a]) => `${a} ${u}`)).size);
        }),
        { seed: 42, numRuns: 300 },
      );
    });
  });
});
