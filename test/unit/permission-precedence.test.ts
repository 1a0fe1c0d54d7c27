import { expect } from 'chai';
import fc from 'fast-check';
import { RolePermissions, type Action, type Decision, type PermissionRule } from '../../realms/permissions.js';
import { compareRanks, literalComponents, rankOf } from '../../realms/rule-precedence.js';
import { oracleDecide, oracleLookup } from '../helpers/permission-oracle.js';

/**
 * Issue 13 item 1: one precedence for permissions, "exact first; then more literal components; then
 * the longer uri; ties merged, deny wins". RolePermissions is compared with a naive oracle written
 * from the README sentence (test/helpers/permission-oracle.ts).
 */

const ACTIONS: Action[] = ['call', 'register', 'publish', 'subscribe'];
const plain = (d: Decision | undefined) => (d === undefined ? undefined : { allow: d.allow, disclose: d.disclose });

describe('permission precedence', () => {
  it('counts literal components as the non-empty parts of the uri', () => {
    expect(['', 'app.', 'app..private', 'app.us', '..', 'a..b..c', 'app.user.private'].map(literalComponents)).to.deep.equal([0, 1, 2, 2, 0, 3, 3]);
  });

  it('ranks exact above everything, then literal components, then length', () => {
    const rank = (uri: string, match: 'exact' | 'prefix' | 'wildcard') => rankOf({ uri, match });
    expect(compareRanks(rank('a', 'exact'), rank('a.b.c.d', 'wildcard'))).to.be.above(0);
    expect(compareRanks(rank('app..private', 'wildcard'), rank('app.', 'prefix'))).to.be.above(0);
    expect(compareRanks(rank('app.user.', 'prefix'), rank('app.us', 'prefix'))).to.be.above(0);
    expect(compareRanks(rank('app.user', 'wildcard'), rank('app.user', 'prefix'))).to.equal(0);
  });

  describe('a wildcard deny narrows a prefix allow (the README example leaked)', () => {
    const perms = new RolePermissions([
      { uri: 'app.', match: 'prefix', allow: { call: true, subscribe: true } },
      { uri: 'app.admin.', match: 'prefix', allow: {} },
      { uri: 'app..private', match: 'wildcard', allow: {} },
    ]);
    const cases: [string, boolean, string][] = [
      ['app.user.private', false, 'app..private (2 components) beats app. (1)'],
      ['app.admin.private', false, 'app..private (2, 12 chars) beats app.admin. (2, 10 chars); both deny'],
      ['app.admin.x', false, 'app.admin. (2) beats app. (1)'],
      ['app.user.x', true, 'only app. matches'],
      ['app.private', true, 'app..private needs three components'],
      ['app.a.b.private', true, 'app..private needs exactly three components'],
      ['app.user.private.x', true, 'app..private needs exactly three components'],
    ];
    for (const [uri, allowed, why] of cases) {
      it(`${uri}: ${allowed ? 'allowed' : 'denied'} (${why})`, () => {
        for (const action of ['call', 'subscribe'] as Action[]) expect(perms.decide(uri, action).allow, action).to.equal(allowed);
      });
    }
  });

  it('breaks a component tie by the longer uri, a full tie by deny', () => {
    const all = { call: true };
    const perms = new RolePermissions([
      { uri: 'app.us', match: 'prefix', allow: all },
      { uri: 'app.user.', match: 'prefix', allow: {} },
      { uri: 'app.x', match: 'prefix', allow: all },
      { uri: 'app.x', match: 'wildcard', allow: {}, disclose: { caller: true } },
      { uri: 'svc.', match: 'prefix', allow: all },
      { uri: 'svc.', match: 'wildcard', allow: all, disclose: { caller: true } },
    ]);
    expect(perms.decide('app.user.1', 'call').allow, 'app.user. (9 chars) beats app.us (6)').to.equal(false);
    expect(perms.decide('app.usx', 'call').allow, 'only app.us').to.equal(true);
    expect(perms.decide('app.x', 'call').allow, 'same text as prefix and wildcard: deny wins').to.equal(false);
    expect(perms.decide('app.x.y', 'call').allow, 'only the prefix').to.equal(true);
    expect(plain(perms.decide('svc.a', 'call')), 'tied allows merge, disclosure from either').to.deep.equal({ allow: true, disclose: true });
    expect(plain(perms.decide('svc.a.b', 'call')), 'only the prefix').to.deep.equal({ allow: true, disclose: false });
  });

  describe('property: RolePermissions agrees with the naive oracle', () => {
    // Small alphabets so rules collide: partial components (`app.us`), "", several empty wildcards.
    const component = fc.constantFrom('app', 'us', 'user', 'x', 'private');
    const concreteUri = fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('.'));
    const ruleUri = fc.oneof(
      concreteUri.map((uri) => ({ uri, match: 'exact' as const })),
      // Any string prefix of a URI: "", `app.`, `app.us` (cutting `user`), ...
      fc.tuple(concreteUri, fc.nat()).map(([u, n]) => ({ uri: u.slice(0, n % (u.length + 1)), match: 'prefix' as const })),
      fc.array(fc.constantFrom('app', 'us', 'user', 'private', '', ''), { minLength: 1, maxLength: 4 })
        .map((cs) => ({ uri: cs.join('.'), match: 'wildcard' as const })),
    );
    const allow = fc.record({ call: fc.boolean(), register: fc.boolean(), publish: fc.boolean(), subscribe: fc.boolean() }, { requiredKeys: [] });
    const disclose = fc.option(fc.record({ caller: fc.boolean(), publisher: fc.boolean() }, { requiredKeys: [] }), { nil: undefined });
    const rule: fc.Arbitrary<PermissionRule> = fc.tuple(ruleUri, allow, disclose)
      .map(([{ uri, match }, a, d]) => (d === undefined ? { uri, match, allow: a } : { uri, match, allow: a, disclose: d }));
    const rules = fc.array(rule, { maxLength: 12 });
    // Queries include the rule URIs themselves (pattern strings are asked too: SUBSCRIBE `app.`).
    const query = fc.oneof(concreteUri, ruleUri.map((r) => r.uri));

    it('decide and lookup equal the oracle for every action', () => {
      fc.assert(
        fc.property(rules, fc.array(query, { minLength: 1, maxLength: 12 }), (rs, uris) => {
          const perms = new RolePermissions(rs);
          for (const uri of uris) {
            for (const action of ACTIONS) {
              expect(plain(perms.lookup(uri, action)), `lookup ${action} ${uri}`).to.deep.equal(oracleLookup(rs, uri, action));
              expect(plain(perms.decide(uri, action)), `decide ${action} ${uri}`).to.deep.equal(oracleDecide(rs, uri, action));
            }
          }
        }),
        { seed: 13, numRuns: 1000 },
      );
    });

  });
});
